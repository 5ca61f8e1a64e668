package tcp

import (
	"time"

	"github.com/ustack/ustack/internal/flowtab"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/tcp/seqnum"
	"github.com/ustack/ustack/wire"
)

// TimeWaitTable keeps connections in TIME-WAIT as compact records, as
// Linux keeps a tcp_timewait_sock instead of the whole socket: once
// nothing but the glue can reach a Conn in TIME-WAIT, Add moves what
// TIME-WAIT input needs (tuple, sequence numbers, windows, timestamp
// state, the deadline: about 130 bytes, no pointer) into the table, and
// the Conn can go back to the cache (Conn.Release) at once.
//
// A record behaves on the wire exactly as the Conn would (the input logic
// is one implementation, timewait.go): a retransmitted FIN is
// acknowledged and restarts 2*MSL, old duplicates and PAWS failures are
// answered with a (rate-limited) ACK, an in-window RST ends it, a newer
// SYN may start a new incarnation (AcceptSYN), and Expire ends it after
// 2*MSL, counting TW as the Conn does.
//
// Records live in fixed-size chunks that never move, indexed by the
// open-addressed index of internal/flowtab (slot numbers, the keys kept
// in the records; the hash and probing of the glue's 4-tuple table) and
// linked in deadline order, so the
// expiring end is always the list's head: adding, finding, restarting
// and expiring are O(1) (amortized), and the garbage collector sees no
// pointer in any of it. A TimeWaitTable is not safe for concurrent use;
// it belongs to one shard, like its Config's Cache.
type TimeWaitTable struct {
	cfg Config
	cnt *Counters

	chunks []*[twChunk]twRecord // slot i is chunks[i/twChunk][i%twChunk]; slot 0 is never used
	slots  uint32               // slots handed out so far (including 0)
	free   uint32               // first free slot (linked through next), 0 if none
	n      int                  // records in use

	idx *flowtab.Index // tuple -> slot, the key kept in the record

	head, tail uint32 // records by deadline, earliest first

	// Scratch for building segments.
	tuple Tuple
	hdr   wire.TCPHeader
	opts  wire.TCPOptions
}

// twChunk is how many records one allocation holds.
const twChunk = 512

// twRecord is one connection in TIME-WAIT.
type twRecord struct {
	twState
	key        flowtab.Key
	used       bool
	deadline   time.Duration
	prev, next uint32 // deadline order while used; next links the free list otherwise
}

// TimeWaitRef names a record of a TimeWaitTable until it is removed.
type TimeWaitRef uint32

// NewTimeWaitTable returns an empty table whose records follow cfg (its
// TimeWait, OOWACKInterval, PAWSIdle, DisableDSACK, challenge-ACK limiter)
// and count into cfg.Counters; seed keys its index's hash (four random
// words, as for flowtab.New).
func NewTimeWaitTable(cfg Config, seed [4]uint64) (*TimeWaitTable, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	t := &TimeWaitTable{cfg: cfg, cnt: cfg.Counters}
	t.idx = flowtab.NewIndex(seed, func(i uint32) *flowtab.Key { return &t.rec(i).key })
	return t, nil
}

// Len is the number of connections in the table.
func (t *TimeWaitTable) Len() int { return t.n }

// Add moves c, a connection in TIME-WAIT, into the table: c is CLOSED
// afterwards (with no event), ready for Release, and its TIME-WAIT goes
// on in the table until the deadline c had. The caller must not reach c
// from anything but its own hand afterwards. Add reports false, changing
// nothing, when c is not in TIME-WAIT, its tuple is in the table already,
// or an address has a zone.
func (t *TimeWaitTable) Add(c *Conn) bool {
	if c.state != TimeWait || !c.isArmed(timerTimeWait) || c.tuple.Local.Addr().Zone() != "" || c.tuple.Remote.Addr().Zone() != "" {
		return false
	}
	k := flowtab.MakeKey(c.tuple.Local, c.tuple.Remote)
	if _, found := t.idx.Get(&k); found {
		return false
	}
	i := t.alloc()
	r := t.rec(i)
	*r = twRecord{twState: c.twState(), key: k, used: true, deadline: c.timers[timerTimeWait]}
	t.n++
	t.link(i)
	t.idx.Add(i)
	c.rcvQ.free()
	ev := c.events
	c.toClosed()
	c.events = ev
	return true
}

// Lookup finds the record of tuple tu.
func (t *TimeWaitTable) Lookup(tu Tuple) (TimeWaitRef, bool) {
	if t.n == 0 || tu.Local.Addr().Zone() != "" || tu.Remote.Addr().Zone() != "" {
		return 0, false
	}
	return t.LookupKey(flowtab.MakeKey(tu.Local, tu.Remote))
}

// LookupKey is Lookup by the tuple's flowtab key (the one the glue builds
// from a segment's headers).
func (t *TimeWaitTable) LookupKey(k flowtab.Key) (TimeWaitRef, bool) {
	if t.n == 0 {
		return 0, false
	}
	i, found := t.idx.Get(&k)
	return TimeWaitRef(i), found
}

// Input processes one segment for record ref (SEGMENT ARRIVES in
// TIME-WAIT, as Conn.Input would). buf, if not nil, is freed: TIME-WAIT
// keeps no payload. The record is removed when an in-window RST ends it;
// ref must not be used after that (check with Lookup).
func (t *TimeWaitTable) Input(now time.Duration, ref TimeWaitRef, seg *Segment, buf *link.Buf, out Output) {
	buf.Free()
	i := uint32(ref)
	r := t.rec(i)
	if !r.used {
		return
	}
	t.cnt.InSegs++
	res := r.input(now, seg, &t.cfg, t.cnt)
	if res.restart {
		t.unlink(i)
		r.deadline = now + t.cfg.TimeWait
		t.link(i)
	}
	switch res.act {
	case twAck:
		t.sendAck(now, r, out)
	case twChallenge:
		if allowChallenge(now, &t.cfg, t.cnt) {
			t.sendAck(now, r, out)
		}
	case twClose:
		t.remove(i)
	}
}

// AcceptSYN is Conn.AcceptSYNInTimeWait for record ref: when the SYN may
// start a new incarnation (RFC 6191), the record is removed and iss is
// the initial sequence number the new connection must use
// (Listener.InputISS).
func (t *TimeWaitTable) AcceptSYN(now time.Duration, ref TimeWaitRef, seg *Segment) (iss seqnum.Value, ok bool) {
	_ = now
	i := uint32(ref)
	r := t.rec(i)
	if !r.used {
		return 0, false
	}
	if iss, ok = r.acceptSYN(seg, t.cnt); ok {
		t.remove(i)
	}
	return iss, ok
}

// Deadline is when the first record expires (ok false with none).
func (t *TimeWaitTable) Deadline() (at time.Duration, ok bool) {
	if t.head == 0 {
		return 0, false
	}
	return t.rec(t.head).deadline, true
}

// Expire ends every record whose 2*MSL has run out by now (RFC 9293
// §3.10.8), counting each in TW, and returns how many it ended.
func (t *TimeWaitTable) Expire(now time.Duration) int {
	n := 0
	for t.head != 0 && t.rec(t.head).deadline <= now {
		t.cnt.TW++
		t.remove(t.head)
		n++
	}
	return n
}

// Tuples calls f with the tuple of every record, in no particular order.
func (t *TimeWaitTable) Tuples(f func(Tuple)) {
	for i := uint32(1); i < t.slots; i++ {
		if r := t.rec(i); r.used {
			f(r.tuple())
		}
	}
}

// TimeWaitInfo describes one record (the `ss` view of a TIME-WAIT
// connection).
type TimeWaitInfo struct {
	Tuple    Tuple
	Deadline time.Duration // when TIME-WAIT ends
	SndNxt   seqnum.Value  // SND.MAX: what our ACKs carry
	RcvNxt   seqnum.Value
}

// Info describes record ref.
func (t *TimeWaitTable) Info(ref TimeWaitRef) TimeWaitInfo {
	r := t.rec(uint32(ref))
	return TimeWaitInfo{Tuple: r.tuple(), Deadline: r.deadline, SndNxt: r.sndMax, RcvNxt: r.rcvNxt}
}

// sendAck sends the record's ACK.
func (t *TimeWaitTable) sendAck(now time.Duration, r *twRecord, out Output) {
	t.tuple = r.tuple()
	r.ack(now, &t.tuple, &t.hdr, &t.opts, &t.cfg, t.cnt)
	out.Send(&t.tuple, &t.hdr, &t.opts, nil, nil)
}

// rec is slot i.
func (t *TimeWaitTable) rec(i uint32) *twRecord {
	return &t.chunks[i/twChunk][i%twChunk]
}

// alloc takes a free slot.
func (t *TimeWaitTable) alloc() uint32 {
	if i := t.free; i != 0 {
		t.free = t.rec(i).next
		return i
	}
	if t.slots == 0 {
		t.slots = 1 // slot 0 means none
	}
	if t.slots/twChunk >= uint32(len(t.chunks)) {
		t.chunks = append(t.chunks, new([twChunk]twRecord))
	}
	i := t.slots
	t.slots++
	return i
}

// remove takes record i out of the index and the deadline order and
// frees its slot.
func (t *TimeWaitTable) remove(i uint32) {
	r := t.rec(i)
	t.unlink(i)
	t.idx.Delete(i)
	*r = twRecord{next: t.free}
	t.free = i
	t.n--
}

// link puts record i into the deadline order: usually at the tail, as
// deadlines are now plus one constant duration.
func (t *TimeWaitTable) link(i uint32) {
	r := t.rec(i)
	p := t.tail
	for p != 0 && t.rec(p).deadline > r.deadline {
		p = t.rec(p).prev
	}
	r.prev = p
	if p == 0 {
		r.next = t.head
		t.head = i
	} else {
		r.next = t.rec(p).next
		t.rec(p).next = i
	}
	if r.next == 0 {
		t.tail = i
	} else {
		t.rec(r.next).prev = i
	}
}

// unlink takes record i out of the deadline order.
func (t *TimeWaitTable) unlink(i uint32) {
	r := t.rec(i)
	if r.prev == 0 {
		t.head = r.next
	} else {
		t.rec(r.prev).next = r.next
	}
	if r.next == 0 {
		t.tail = r.prev
	} else {
		t.rec(r.next).prev = r.prev
	}
	r.prev, r.next = 0, 0
}

// tuple is the record's 4-tuple.
func (r *twRecord) tuple() Tuple {
	l, rm := r.key.AddrPorts()
	return Tuple{Local: l, Remote: rm}
}
