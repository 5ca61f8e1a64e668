package tcp

import (
	"time"

	"github.com/ustack/ustack/tcp/seqnum"
)

// sendRingMin is the first allocation of a send ring (Linux starts a send
// buffer at tcp_wmem[1] = 16 KiB and grows it).
const sendRingMin = 16 << 10

// sendRing is the bounded send buffer: the bytes from SND.UNA's first data
// byte through the last byte written. Its storage is allocated on the
// first Write, at most 16 KiB, and doubled while writers fill it, up to
// size; it is then reused for the life of the connection. Connections that
// write little never pay for the full SndBuf.
type sendRing struct {
	buf   []byte // len(buf) is the current capacity
	size  int    // the most it may hold (Config.SndBuf)
	start int    // index of the first byte
	n     int    // bytes held
	cache *Cache // where first-size storage comes from and goes back to
}

func (r *sendRing) free() int { return r.size - r.n }

// grow makes room for need more bytes (within size), linearizing the
// contents into a new array.
func (r *sendRing) grow(need int) {
	c := max(len(r.buf), min(sendRingMin, r.size))
	for c < r.n+need && c < r.size {
		c *= 2
	}
	c = min(c, r.size)
	if c <= len(r.buf) {
		return
	}
	var nb []byte
	if c == sendRingMin {
		nb = r.cache.getRing()
	}
	if nb == nil {
		nb = make([]byte, c)
	}
	p1, p2 := r.slices(0, r.n)
	copy(nb[copy(nb, p1):], p2)
	r.cache.putRing(r.buf)
	r.buf, r.start = nb, 0
}

// release gives the storage back (to the cache when there is one) once
// the ring is empty for good; a later write would allocate again.
func (r *sendRing) release() {
	if r.buf == nil || r.n != 0 {
		return
	}
	r.cache.putRing(r.buf)
	r.buf, r.start = nil, 0
}

// write appends as much of p as fits and returns the count.
func (r *sendRing) write(p []byte) int {
	n := min(len(p), r.free())
	if n == 0 {
		return 0
	}
	if r.n+n > len(r.buf) {
		r.grow(n)
	}
	end := ringIndex(r.start+r.n, len(r.buf))
	k := copy(r.buf[end:], p[:n])
	copy(r.buf, p[k:n])
	r.n += n
	return n
}

// slices returns the n bytes starting off bytes into the ring, as up to two
// slices (the second non-empty only when the range wraps).
func (r *sendRing) slices(off, n int) (p1, p2 []byte) {
	if n <= 0 {
		return nil, nil
	}
	c := len(r.buf)
	s := ringIndex(r.start+off, c)
	if s+n <= c {
		return r.buf[s : s+n], nil
	}
	return r.buf[s:], r.buf[:n-(c-s)]
}

// consume drops n bytes from the front.
func (r *sendRing) consume(n int) {
	n = min(n, r.n)
	r.n -= n
	if r.n == 0 {
		r.start = 0
	} else {
		r.start = ringIndex(r.start+n, len(r.buf))
	}
}

// ringIndex reduces i, the sum of two in-ring offsets (so below 2c), to
// an index into a ring of c bytes: one compare instead of a division on
// every write, send and ACK.
func ringIndex(i, c int) int {
	if i >= c {
		i -= c
		if i >= c {
			i %= c // not reached while the ring's invariants hold
		}
	}
	return i
}

// Write copies p into the send ring and sends what the windows, Nagle and
// cork allow (RFC 9293 §3.10.2, SEND call). It returns how many bytes were
// taken; ErrWouldBlock when the ring is full. Data written before the
// handshake completes is sent once it does. The segment that carries the
// last byte of a write gets PSH.
func (c *Conn) Write(now time.Duration, p []byte, out Output) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	switch c.state {
	case SynSent, SynReceived, Established, CloseWait:
	case Closed, Listen:
		return 0, ErrNotConnected
	default:
		return 0, ErrWriteShutdown
	}
	if c.finQueued {
		return 0, ErrWriteShutdown
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := c.ring.write(p)
	if n == 0 {
		return 0, ErrWouldBlock
	}
	c.push(now, out)
	return n, nil
}

// WriteSpace is how many bytes Write would take now.
func (c *Conn) WriteSpace() int {
	if c.finQueued || c.err != nil {
		return 0
	}
	return c.ring.free()
}

// canSendData reports whether the state lets queued data and FIN go out.
func (c *Conn) canSendData() bool {
	switch c.state {
	case Established, CloseWait, FinWait1, Closing, LastAck:
		return true
	}
	return false
}

// cwnd is the congestion window in bytes.
func (c *Conn) cwnd() uint32 { return uint32(max(c.cc.Cwnd(), 0)) }

// dataEnd is the sequence number just past the last byte written.
func (c *Conn) dataEnd() seqnum.Value { return c.ringSeq.Add(seqnum.Size(c.ring.n)) }

// finSent reports whether our FIN has been sent (it occupies dataEnd).
func (c *Conn) finSent() bool {
	return c.finQueued && c.sndMax.GreaterThan(c.dataEnd())
}

// sendWindowEnd is the first sequence number beyond what the peer's window
// and the congestion window allow.
//
// The congestion window limits the data in the network, not the distance
// from SND.UNA: SACKed bytes have left it (RFC 6675 pipe, as Linux counts
// packets in flight), and without SACK each of the first two duplicate
// ACKs lets one more segment out (limited transmit, RFC 3042). That keeps
// ACKs coming when the window is small, so losses are found by fast
// retransmit rather than by timeout.
func (c *Conn) sendWindowEnd() seqnum.Value {
	cw := c.cwnd()
	if c.sackOK {
		cw += c.sb.sacked
	} else {
		cw += uint32(min(c.dupAcks, 2) * c.sndMSS)
	}
	w := min(c.sndWnd, cw)
	return c.sndUna.Add(seqnum.Size(w))
}

// push sends as much queued data (and FIN) as the rules allow: MSS
// segmentation, the peer's and the congestion window, sender SWS avoidance
// (RFC 9293 §3.8.6.2.1), Nagle with Minshall's refinement (as Linux) and
// cork. It arms the persist timer when a zero window blocks everything.
// With segmentation offload (Config.GSOMaxSize and a GSOOutput) the
// segments it decides leave as super-segments (gso.go).
func (c *Conn) push(now time.Duration, out Output) {
	if c.hold || !c.canSendData() || c.inRecovery {
		return // in recovery PRR decides (recoverySend)
	}
	if g, ok := c.gsoOutput(out); ok {
		c.pushGSO(now, g)
		return
	}
	c.pushLoop(now, out)
}

// pushLoop is push's segmentation loop.
func (c *Conn) pushLoop(now time.Duration, out Output) {
	mss := c.curMSS()
	c.cwndFull = false
	for {
		end := c.dataEnd()
		avail := 0
		if c.sndNxt.LessThan(end) {
			avail = int(end.Sub(c.sndNxt))
		} else if !c.finQueued || c.sndNxt != end {
			return // nothing to send: skip the window computation
		}
		wndEnd := c.sendWindowEnd()
		usable := int(int32(wndEnd - c.sndNxt))
		if avail == 0 {
			// Only FIN may be left.
			if c.finQueued && c.sndNxt == end {
				if usable < 1 && c.sndWnd == 0 {
					c.armPersistIfIdle(now)
					return
				}
				c.sendData(now, out, c.sndNxt, 0, true)
			}
			return
		}
		n := min(avail, mss)
		if usable < n {
			if usable <= 0 {
				c.cwndFull = c.sndWnd >= c.cwnd()
				c.armPersistIfIdle(now)
				return
			}
			rwndLimited := c.sndWnd < c.cwnd()
			c.cwndFull = !rwndLimited
			if rwndLimited && usable < mss && uint32(usable) < c.maxSndWnd/2 {
				// Sender SWS avoidance: wait for a bigger window.
				c.armPersistIfIdle(now)
				return
			}
			if !rwndLimited && usable < mss && c.sndNxt != c.sndUna {
				// Congestion-limited: wait for ACKs to open cwnd.
				return
			}
			n = usable
		}
		if c.sndNxt.LessThan(c.sndMax) {
			// Resending after an RTO: skip what the peer SACKed.
			if skip := c.sb.skip(c.sndNxt); skip != c.sndNxt {
				c.sndNxt = seqnum.Min(skip, c.sndMax)
				continue
			}
			if hole, ok := c.sb.holeEnd(c.sndNxt); ok && hole.Sub(c.sndNxt) < seqnum.Size(n) {
				n = int(hole.Sub(c.sndNxt))
			}
		}
		last := n == avail
		if n < mss && c.sndNxt.GreaterThanEq(c.sndMax) {
			// A partial segment of new data.
			if c.cork && !(last && c.finQueued) && !c.corkExpired {
				// Linux caps corking at 200 ms.
				if !c.isArmed(timerCork) {
					c.arm(timerCork, now+c.cfg.CorkTimeout)
				}
				return
			}
			if !c.noDelay && !c.cork && !(last && c.finQueued) && c.nagleHolds() {
				return
			}
		}
		c.corkExpired = false
		c.disarm(timerCork)
		withFIN := last && c.finQueued && usable > n
		c.sendData(now, out, c.sndNxt, n, withFIN)
		c.scheduleTLP(now)
	}
}

// nagleHolds is Nagle's test with Minshall's refinement (as Linux): a
// partial segment waits while an earlier small segment is unacknowledged.
func (c *Conn) nagleHolds() bool {
	return c.sndSml.GreaterThan(c.sndUna) && c.sndSml.LessThanEq(c.sndNxt)
}

// sendData emits the segment [seq, seq+n) from the ring, with FIN when fin
// is set, and advances SND.NXT/SND.MAX. Retransmissions (seq below
// SND.MAX) are counted as such.
func (c *Conn) sendData(now time.Duration, out Output, seq seqnum.Value, n int, fin bool) {
	off := int(seq.Sub(c.ringSeq))
	p1, p2 := c.ring.slices(off, n)
	flags := flagACK
	if end := seq.Add(seqnum.Size(n)); n > 0 && (end == c.dataEnd() ||
		// Linux's forced push: PSH at least every half of the largest
		// window the peer offered, even inside one large write.
		end.Sub(c.pushedSeq) > seqnum.Size(c.maxSndWnd/2) && end.GreaterThan(c.pushedSeq)) {
		flags |= flagPSH
		if end.GreaterThan(c.pushedSeq) {
			c.pushedSeq = end
		}
	}
	if fin {
		flags |= flagFIN
	}
	segEnd := seq.Add(seqnum.Size(n))
	if fin {
		segEnd = segEnd.Add(1)
	}
	retrans := seq.LessThan(c.sndMax)
	if c.sndUna == c.sndMax && !retrans {
		c.sndUnaTime = now // the head of the flight leaves now
	}
	if retrans {
		c.noteRetransmit()
		c.cnt.RetransSegs++
		c.totalRetrans++
		c.bytesRetrans += uint64(n)
		if c.firstRtxTime == 0 {
			c.firstRtxTime = now
		}
	} else {
		if n > 0 {
			c.cnt.TCPOrigDataSent++
			if c.ato > 0 && now-c.lastDataRcv < c.ato {
				// A reply within ato of the last data received: the
				// exchange is interactive (Linux tcp_event_data_sent).
				c.pingpong = true
			}
		}
		c.bytesSent += uint64(n)
	}
	if c.gso.out != nil && !retrans && n > 0 {
		c.gsoAdd(now, seq, n, flags) // new data inside push: may be merged
	} else {
		c.emit(now, out, seq, flags, p1, p2, retrans)
	}
	if n > 0 && n < c.curMSS() {
		c.sndSml = segEnd
	}
	if seq == c.sndNxt {
		c.sndNxt = segEnd
	}
	if c.sndNxt.GreaterThan(c.sndMax) {
		if !c.rttPending && !retrans {
			c.rttPending, c.rttSeq, c.rttStart = true, seq, now
		}
		c.sndMax = c.sndNxt
	}
	if !c.isArmed(timerRTX) {
		c.armRTO(now)
	}
	c.disarm(timerPersist)
}

// retransmitHead resends the first unacknowledged segment (fast
// retransmit, partial ACK in recovery).
func (c *Conn) retransmitHead(now time.Duration, out Output) {
	seq := c.sndUna
	end := c.dataEnd()
	n := 0
	if seq.LessThan(end) {
		n = min(int(end.Sub(seq)), c.curMSS())
	}
	fin := c.finSent() && seq.Add(seqnum.Size(n)) == end
	if n == 0 && !fin {
		return
	}
	saved := c.sndNxt
	c.sendData(now, out, seq, n, fin)
	if saved.GreaterThan(c.sndNxt) {
		c.sndNxt = saved
	}
	c.rttPending = false // Karn: the measurement is now ambiguous
}

// armPersistIfIdle arms the persist timer when nothing is in flight to
// bring a window update back (RFC 9293 §3.8.6.1).
func (c *Conn) armPersistIfIdle(now time.Duration) {
	if c.sndMax != c.sndUna || c.isArmed(timerPersist) {
		return
	}
	c.disarm(timerRTX)
	c.arm(timerPersist, now+c.persistTimeout())
}

func (c *Conn) persistTimeout() time.Duration {
	d := c.rtt.RTO() // already includes RTO backoff, bounded by RTOMax
	for i := 0; i < c.persistShift && d < c.cfg.RTOMax; i++ {
		d *= 2
	}
	return min(max(d, c.cfg.RTOMin), c.cfg.RTOMax)
}

// sendProbe sends a segment the peer must acknowledge without carrying new
// data: SEG.SEQ = SND.UNA-1 (Linux's zero-window and keepalive probe).
func (c *Conn) sendProbe(now time.Duration, out Output) {
	c.emit(now, out, c.sndUna-1, flagACK, nil, nil, false)
}
