package reasm

// Insert queues the out-of-order segment [seq, seq+len(payload)) backed by
// owner, and takes ownership of owner (see the package doc). payload must
// stay valid until owner is freed. The caller inserts only data beyond
// rcv.nxt and within the receive window, so that everything held lies
// within 2^31 of sequence space; a segment that would break that is
// dropped (counted) instead of being queued.
func (q *Queue) Insert(seq uint32, payload []byte, owner Owner) Result {
	var res Result
	if q.cfg.MaxBytes == 0 { // a zero Queue, never Init'ed
		q.cfg = q.cfg.withDefaults()
	}
	if len(payload) == 0 {
		if owner != nil {
			owner.Free()
		}
		return res
	}
	if len(payload) > 1<<30 {
		// Not a TCP segment; keep sequence arithmetic sane.
		payload = payload[:1<<30]
	}
	q.clock++
	s, e := seq, seq+uint32(len(payload))

	// Runs i..j overlap or touch [s, e).
	i := q.firstEndGE(s)
	j := i - 1
	for k := i; k < len(q.runs) && lte(q.runs[k].start, e); k++ {
		j = k
	}

	// The runs found must be ordered and touch [s, e) when seen from s;
	// they can fail to be only if the caller let held data spread over
	// more than 2^31 of sequence space. Drop the segment rather than
	// corrupt the queue.
	if !q.consistent(i, j, s, uint32(len(payload))) {
		q.stats.DroppedSegments++
		q.stats.DroppedBytes += uint64(len(payload))
		if owner != nil {
			owner.Free()
		}
		res.Dropped = len(payload)
		return res
	}

	// Duplicate accounting against the original extent.
	for k := i; k <= j; k++ {
		r := &q.runs[k]
		lo, hi := r.start, r.end
		if lt(lo, s) {
			lo = s
		}
		if lt(e, hi) {
			hi = e
		}
		if lt(lo, hi) {
			if res.DupBytes == 0 {
				res.DupLeft, res.DupRight = lo, hi
			}
			res.DupBytes += int(hi - lo)
		}
	}
	if res.DupBytes > 0 {
		q.stats.DupSegments++
		q.stats.DupBytes += uint64(res.DupBytes)
	}

	// Trim against the edge runs: old data is kept there.
	hasLeft := i <= j && lte(q.runs[i].start, s)
	if hasLeft {
		if lte(e, q.runs[i].end) {
			// Wholly held already.
			q.runs[i].stamp = q.clock
			if owner != nil {
				owner.Free()
			}
			return res
		}
		payload = payload[q.runs[i].end-s:]
		s = q.runs[i].end
	}
	hasRight := i <= j && !(hasLeft && i == j) && lte(e, q.runs[j].end)
	if hasRight {
		e = q.runs[j].start
		payload = payload[:e-s]
	}

	// Runs strictly between the partners are covered: replace them.
	innerLo, innerHi := i, j
	if hasLeft {
		innerLo++
	}
	if hasRight {
		innerHi--
	}
	for k := innerLo; k <= innerHi; k++ {
		q.freeRun(&q.runs[k])
	}

	n := q.alloc()
	q.nodes[n] = node{seq: s, prev: none, next: none, data: payload, owner: owner}
	q.bytes += len(payload)
	merged := run{start: s, end: e, head: n, tail: n, stamp: q.clock}
	if hasLeft {
		l := q.runs[i]
		q.nodes[l.tail].next = n
		q.nodes[n].prev = l.tail
		merged.start, merged.head = l.start, l.head
	}
	if hasRight {
		r := q.runs[j]
		q.nodes[r.head].prev = n
		q.nodes[n].next = r.head
		merged.end, merged.tail = r.end, r.tail
	}

	// Replace runs i..j (possibly none) with merged.
	if i > j {
		q.runs = append(q.runs, run{})
		copy(q.runs[i+1:], q.runs[i:])
		q.runs[i] = merged
	} else {
		q.runs[i] = merged
		if j > i {
			q.runs = append(q.runs[:i+1], q.runs[j+1:]...)
		}
	}

	res.Stored = len(payload)
	res.Dropped = q.prune(n, &res.Stored)
	return res
}

// consistent reports whether runs i..j, measured as signed distances from
// s, are non-empty, in order, disjoint and within [0, n] of s at their
// near ends.
func (q *Queue) consistent(i, j int, s, n uint32) bool {
	prev := int64(-1 << 40)
	for k := i; k <= j; k++ {
		a := int64(int32(q.runs[k].start - s))
		b := int64(int32(q.runs[k].end - s))
		if a >= b || a <= prev || b < 0 || a > int64(n) {
			return false
		}
		prev = b
	}
	return true
}

// prune drops the highest-sequence segments until every bound holds. If
// the segment just inserted (node n) is dropped, *stored becomes 0.
func (q *Queue) prune(n int32, stored *int) int {
	dropped := 0
	for q.bytes > q.cfg.MaxBytes || q.nsegs > q.cfg.MaxSegments || len(q.runs) > q.cfg.MaxRanges {
		last := len(q.runs) - 1
		r := &q.runs[last]
		t := r.tail
		size := len(q.nodes[t].data)
		if t == n {
			*stored = 0
		}
		if p := q.nodes[t].prev; p != none {
			q.nodes[p].next = none
			r.tail = p
			r.end = q.nodes[p].end()
		} else {
			q.runs = q.runs[:last]
		}
		q.bytes -= size
		q.release(t)
		dropped += size
		q.stats.DroppedSegments++
		q.stats.DroppedBytes += uint64(size)
	}
	return dropped
}

// Pop returns the next in-order segment, the one starting at rcvNxt, and
// passes its ownership to the caller; ok is false when the data at rcvNxt
// is not held. Held data wholly below rcvNxt is freed (counted as stale) and
// a segment straddling rcvNxt is returned trimmed to start there. Call Pop
// repeatedly, advancing rcvNxt by len(seg.Data), until ok is false.
func (q *Queue) Pop(rcvNxt uint32) (seg Segment, ok bool) {
	for len(q.runs) > 0 {
		r := &q.runs[0]
		if lt(rcvNxt, r.start) {
			return Segment{}, false
		}
		h := r.head
		nd := &q.nodes[h]
		if lte(nd.end(), rcvNxt) {
			q.bytes -= len(nd.data)
			q.stats.StaleBytes += uint64(len(nd.data))
			q.unlinkHead(r)
			q.release(h)
			continue
		}
		if lt(nd.seq, rcvNxt) {
			cut := rcvNxt - nd.seq
			q.bytes -= int(cut)
			q.stats.StaleBytes += uint64(cut)
			nd.data = nd.data[cut:]
			nd.seq = rcvNxt
			r.start = rcvNxt
		}
		seg = Segment{Seq: nd.seq, Data: nd.data, Owner: nd.owner}
		q.bytes -= len(nd.data)
		q.unlinkHead(r)
		q.put(h)
		return seg, true
	}
	return Segment{}, false
}

// unlinkHead removes the head node from run r (runs[0]), dropping the run
// when it empties. The node itself is not released.
func (q *Queue) unlinkHead(r *run) {
	h := r.head
	next := q.nodes[h].next
	if next == none {
		q.runs = append(q.runs[:0], q.runs[1:]...)
		return
	}
	q.nodes[next].prev = none
	r.head = next
	r.start = q.nodes[next].seq
}
