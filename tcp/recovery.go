package tcp

import (
	"time"

	"github.com/ustack/ustack/tcp/cc"
	"github.com/ustack/ustack/tcp/seqnum"
	"github.com/ustack/ustack/wire"
)

// maxSACKRanges bounds the scoreboard; when full, the highest range is
// forgotten (the data is then simply treated as not SACKed).
const maxSACKRanges = 16

// scoreboard is the sender's record of SACKed sequence ranges above
// SND.UNA (RFC 6675 §3), kept sorted and merged.
type scoreboard struct {
	r      [maxSACKRanges]struct{ l, r seqnum.Value }
	n      int
	sacked uint32 // bytes covered
}

func (s *scoreboard) reset() { s.n, s.sacked = 0, 0 }

// add records [l, r) and returns how many bytes were newly SACKed.
func (s *scoreboard) add(l, r seqnum.Value) uint32 {
	before := s.sacked
	// Find the insertion point and merge every range that touches [l, r).
	i := 0
	for i < s.n && s.r[i].r.LessThan(l) {
		i++
	}
	j := i
	for j < s.n && s.r[j].l.LessThanEq(r) {
		l = seqnum.Min(l, s.r[j].l)
		r = seqnum.Max(r, s.r[j].r)
		j++
	}
	// Replace ranges i..j-1 by [l, r).
	removed := j - i
	if removed == 0 {
		if s.n == maxSACKRanges {
			if i == s.n {
				return 0 // above everything and no room: forget it
			}
			s.n-- // drop the highest range
		}
		copy(s.r[i+1:s.n+1], s.r[i:s.n])
		s.n++
	} else if removed > 1 {
		copy(s.r[i+1:], s.r[j:s.n])
		s.n -= removed - 1
	}
	s.r[i].l, s.r[i].r = l, r
	s.recount()
	if s.sacked > before {
		return s.sacked - before
	}
	return 0
}

func (s *scoreboard) recount() {
	s.sacked = 0
	for i := 0; i < s.n; i++ {
		s.sacked += uint32(s.r[i].r.Sub(s.r[i].l))
	}
}

// trim forgets everything below una.
func (s *scoreboard) trim(una seqnum.Value) {
	k := 0
	for i := 0; i < s.n; i++ {
		if s.r[i].r.LessThanEq(una) {
			continue
		}
		s.r[k] = s.r[i]
		if s.r[k].l.LessThan(una) {
			s.r[k].l = una
		}
		k++
	}
	s.n = k
	s.recount()
}

// high is the highest SACKed sequence number (HighSACK's end).
func (s *scoreboard) high() (seqnum.Value, bool) {
	if s.n == 0 {
		return 0, false
	}
	return s.r[s.n-1].r, true
}

// skip returns seq, or the end of the SACKed range containing it.
func (s *scoreboard) skip(seq seqnum.Value) seqnum.Value {
	for i := 0; i < s.n; i++ {
		if seq.InRange(s.r[i].l, s.r[i].r) {
			return s.r[i].r
		}
	}
	return seq
}

// holeEnd is the end of the un-SACKed run starting at seq (the next SACKed
// range's start), or false when seq is at or above the highest SACK.
func (s *scoreboard) holeEnd(seq seqnum.Value) (seqnum.Value, bool) {
	for i := 0; i < s.n; i++ {
		if seq.LessThan(s.r[i].l) {
			return s.r[i].l, true
		}
	}
	return 0, false
}

// unsackedIn counts un-SACKed bytes in [a, b).
func (s *scoreboard) unsackedIn(a, b seqnum.Value) uint32 {
	if !a.LessThan(b) {
		return 0
	}
	n := uint32(b.Sub(a))
	for i := 0; i < s.n; i++ {
		l, r := seqnum.Max(s.r[i].l, a), seqnum.Min(s.r[i].r, b)
		if l.LessThan(r) {
			n -= uint32(r.Sub(l))
		}
	}
	return n
}

// updateSACK feeds the SACK blocks of an ACK into the scoreboard (RFC 2018
// §4, ignoring D-SACK blocks per RFC 2883 §4 and anything outside
// (SEG.ACK, SND.MAX]) and returns the bytes newly SACKed.
func (c *Conn) updateSACK(seg *Segment) uint32 {
	if !c.sackOK || seg.Opts.NumSACK == 0 {
		return 0
	}
	o := &seg.Opts
	newly := uint32(0)
	for i := 0; i < o.NumSACK && i < len(o.SACK); i++ {
		l, r := seqnum.Value(o.SACK[i].Left), seqnum.Value(o.SACK[i].Right)
		if !l.LessThan(r) || r.Sub(l) > 1<<30 {
			continue
		}
		if i == 0 && isDSACK(o, seg.Ack) {
			if c.tlpOut && c.tlpRetrans && r == c.tlpHigh {
				c.tlpDup = true // the probe was not needed
			} else {
				c.noteDSACK(l, r)
			}
			continue // a duplicate report, not new information
		}
		if l.LessThan(seg.Ack) {
			l = seg.Ack
		}
		if !l.LessThan(r) || r.GreaterThan(c.sndMax) {
			continue
		}
		newly += c.sb.add(l, r)
		if r.GreaterThan(c.fack) {
			c.fack = r
		}
	}
	return newly
}

// isDSACK reports whether the first block is a D-SACK (RFC 2883 §4): below
// the cumulative ACK, or inside the second block.
func isDSACK(o *wire.TCPOptions, ack seqnum.Value) bool {
	l, r := seqnum.Value(o.SACK[0].Left), seqnum.Value(o.SACK[0].Right)
	if r.LessThanEq(ack) {
		return true
	}
	if o.NumSACK > 1 {
		l1, r1 := seqnum.Value(o.SACK[1].Left), seqnum.Value(o.SACK[1].Right)
		return l1.LessThanEq(l) && r.LessThanEq(r1)
	}
	return false
}

// pipe estimates the bytes still in the network (RFC 6675 §4): everything
// outstanding, less what is SACKed, less the holes below the highest SACK
// that are deemed lost and not yet retransmitted. Without SACK each
// duplicate ACK stands for one segment that left (Linux's Reno emulation).
func (c *Conn) pipe() int {
	flight := int(c.sndMax.Sub(c.sndUna))
	if c.sackOK && c.sb.n > 0 {
		hi, _ := c.sb.high()
		from := seqnum.Max(c.rtxNext, c.sndUna)
		lost := c.sb.unsackedIn(from, hi)
		return max(flight-int(c.sb.sacked)-int(lost), 0)
	}
	return max(flight-c.renoSacked*c.sndMSS, 0)
}

// timeToRecover is Linux's tcp_time_to_recover without FACK and RACK:
// DupThresh duplicate ACKs, or DupThresh segments SACKed above SND.UNA;
// with fewer than DupThresh+1 segments outstanding and nothing new to send,
// one less than those outstanding (early retransmit, RFC 5827), so that a
// short flight or a tail loss probe's SACK can start recovery.
func (c *Conn) timeToRecover() bool {
	th := c.reordering
	if c.dupAcks >= th {
		return true
	}
	if !c.sackOK || c.sb.sacked == 0 {
		return false
	}
	if int(c.sb.sacked) >= th*c.sndMSS {
		return true
	}
	mss := max(c.sndMSS, 1)
	oseg := (int(c.sndMax.Sub(c.sndUna)) + mss - 1) / mss
	unsent := c.sndNxt.LessThan(c.dataEnd())
	return oseg < th+1 && !unsent && int(c.sb.sacked) >= (oseg-1)*mss
}

// enterRecovery starts fast retransmit and fast recovery (RFC 5681 §3.2,
// RFC 6582, RFC 6675 §5), with PRR (RFC 6937) pacing what is sent.
func (c *Conn) enterRecovery(now time.Duration) {
	flight := int(c.sndMax.Sub(c.sndUna))
	c.inRecovery = true
	c.recover = c.sndMax
	c.rtxNext = c.sndUna
	c.startUndoEpisode(c.sndUna, c.sndMax)
	c.rtxRec.reset()
	if c.sackOK {
		c.cnt.TCPSackRecovery++
	} else {
		c.cnt.TCPRenoRecovery++
	}
	c.cc.OnCongestion(cc.FastRetransmit, flight, now)
	c.tlpOut = false
	c.disarm(timerTLP)
	c.prr.Start(c.cc.Ssthresh(), flight, c.sndMSS)
}

// recoverySend sends what PRR allows after an ACK that delivered
// `delivered` bytes: first the lost holes (NextSeg rules 1 and 3), then new
// data within the peer's window.
func (c *Conn) recoverySend(now time.Duration, out Output, delivered int) {
	if c.sackOK {
		c.updateRtxRecords()
	}
	sndcnt := c.prr.OnAck(delivered, c.pipe())
	sent := false
	for sndcnt > 0 {
		if i, ok := c.nextLostRetransmit(); ok {
			r := &c.rtxRec.rec[i]
			seq := seqnum.Max(r.l, c.sndUna)
			n := min(int(r.r.Sub(seq)), c.curMSS())
			c.cnt.TCPLostRetransmit++
			c.sendRange(now, out, seq, n)
			r.l, r.mark, r.lost = seq, c.sndMax, false
			if n < int(r.r.Sub(seq)) {
				// Only part went out: the rest stays marked lost (or,
				// with no room to track it, is left to the RTO).
				c.rtxRec.add(seq.Add(seqnum.Size(n)), r.r, r.mark, true)
				r.r = seq.Add(seqnum.Size(n))
			}
			c.prr.OnSent(n)
			sndcnt -= n
			sent = true
			continue
		}
		if seq, n, ok := c.nextHole(); ok {
			n = min(n, c.curMSS())
			c.cnt.TCPFastRetrans++
			c.sendRange(now, out, seq, n)
			c.rtxNext = seq.Add(seqnum.Size(n))
			if c.sackOK {
				c.rtxRec.add(seq, c.rtxNext, c.sndMax, false)
			}
			c.rttPending = false // Karn
			c.prr.OnSent(n)
			sndcnt -= n
			sent = true
			continue
		}
		end := c.dataEnd()
		wndEnd := c.sndUna.Add(seqnum.Size(c.sndWnd))
		if !c.sndNxt.LessThan(end) || !c.sndNxt.LessThan(wndEnd) {
			break
		}
		n := min(int(end.Sub(c.sndNxt)), int(wndEnd.Sub(c.sndNxt)), c.curMSS())
		c.sendData(now, out, c.sndNxt, n, false)
		c.prr.OnSent(n)
		sndcnt -= n
		sent = true
	}
	if sent || !c.isArmed(timerRTX) {
		c.armRTO(now) // restarted by (re)transmissions only
	}
}

// nextHole is the next range to retransmit in recovery: with SACK, the
// first un-SACKed bytes at or after rtxNext and below the highest SACK;
// without SACK (NewReno, RFC 6582), the first unacknowledged segment if it
// has not been resent since SND.UNA last moved.
func (c *Conn) nextHole() (seq seqnum.Value, n int, ok bool) {
	from := seqnum.Max(c.rtxNext, c.sndUna)
	if c.sackOK {
		// RFC 6675: only what lies below SACKed data is deemed lost.
		from = c.sb.skip(from)
		end, ok := c.sb.holeEnd(from)
		if !ok {
			return 0, 0, false
		}
		return from, int(end.Sub(from)), true
	}
	if from != c.sndUna || c.sndUna == c.sndMax {
		return 0, 0, false
	}
	return from, int(c.sndMax.Sub(from)), true
}

// sendRange retransmits [seq, seq+n) (with FIN when it ends at our sent
// FIN), leaving SND.NXT alone.
func (c *Conn) sendRange(now time.Duration, out Output, seq seqnum.Value, n int) {
	end := c.dataEnd()
	fin := false
	if seq.Add(seqnum.Size(n)).GreaterThanEq(end) && c.finSent() {
		n = int(end.Sub(seq))
		fin = true
	}
	if n <= 0 && !fin {
		return
	}
	saved := c.sndNxt
	c.sendData(now, out, seq, max(n, 0), fin)
	if saved.GreaterThan(c.sndNxt) {
		c.sndNxt = saved
	}
}
