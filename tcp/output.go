package tcp

import (
	"time"

	"github.com/ustack/ustack/tcp/internal/reasm"
	"github.com/ustack/ustack/tcp/seqnum"
	"github.com/ustack/ustack/wire"
)

// emit builds the header and options for a segment of this connection and
// hands it to out. Every segment but a SYN carries ACK with RCV.NXT and
// the current window; emitting one settles any owed ACK. Segments a push
// is collecting for segmentation offload go out first, keeping the order.
func (c *Conn) emit(now time.Duration, out Output, seq seqnum.Value, flags wire.TCPFlags, p1, p2 []byte, retrans bool) {
	if c.gso.pieces != 0 {
		c.gsoFlush(now)
	}
	c.emitSeg(now, out, seq, flags, p1, p2, retrans, 0)
}

// emitSeg is emit without the flush: a super-segment when gsoSize is
// non-zero (out is then a GSOOutput).
func (c *Conn) emitSeg(now time.Duration, out Output, seq seqnum.Value, flags wire.TCPFlags, p1, p2 []byte, retrans bool, gsoSize int) {
	h := &c.hdr
	*h = wire.TCPHeader{SrcPort: c.tuple.Local.Port(), DstPort: c.tuple.Remote.Port(), Seq: uint32(seq), Flags: flags}
	o := &c.opts
	o.HasMSS, o.HasWScale, o.SACKPermitted, o.HasTS, o.NumSACK = false, false, false, false, 0
	o.HasTFO, o.HasMD5 = false, false
	if c.tsOK {
		o.HasTS, o.TSVal, o.TSEcr = true, c.tsNow(now), c.tsRecent
	}
	if flags&flagACK != 0 {
		h.Ack = uint32(c.rcvNxt)
		h.Window = c.selectWindow()
		if c.sackOK && flags&flagRST == 0 && (c.hasDSACK || !c.ooo.Empty()) {
			c.fillSACK(o) // (nothing to report otherwise)
		}
		c.ackSent(now)
	} else if flags&flagRST == 0 {
		h.Window = c.selectWindow()
	}
	if flags&flagRST != 0 {
		c.cnt.OutRsts++
	}
	if !retrans {
		c.cnt.OutSegs++
	}
	c.segsOut++
	if gsoSize > 0 {
		out.(GSOOutput).SendGSO(&c.tuple, h, o, p1, p2, gsoSize)
		return
	}
	out.Send(&c.tuple, h, o, p1, p2)
}

// fillSACK puts the D-SACK block (if any) and the out-of-order ranges into
// o (RFC 2018 §4, RFC 2883), three blocks at most with timestamps.
func (c *Conn) fillSACK(o *wire.TCPOptions) {
	var blocks [reasm.MaxSACKBlocks]reasm.Block
	max := 4
	if o.HasTS {
		max = 3
	}
	var d reasm.Block
	if c.hasDSACK && !c.cfg.DisableDSACK {
		d = reasm.Block{Left: c.dsack.Left, Right: c.dsack.Right}
	}
	c.hasDSACK = false
	if d.Left == d.Right && c.ooo.Empty() {
		return
	}
	n := c.ooo.SACKBlocks(blocks[:max], d)
	for i := 0; i < n; i++ {
		o.SACK[i] = wire.SACKBlock{Left: blocks[i].Left, Right: blocks[i].Right}
	}
	o.NumSACK = n
}

// curMSS is the payload of a full segment sent now: sndMSS less the SACK
// blocks the segment will carry (Linux tcp_current_mss). Without it a full
// data segment that also reports out-of-order data would exceed the MTU.
func (c *Conn) curMSS() int {
	if !c.sackOK {
		return c.sndMSS
	}
	n := c.ooo.NumRanges()
	if c.hasDSACK && !c.cfg.DisableDSACK {
		n++
	}
	if n == 0 {
		return c.sndMSS
	}
	limit := 4
	if c.tsOK {
		limit = 3
	}
	n = min(n, limit)
	return max(c.sndMSS-(4+8*n), 64)
}

// ackSent settles ACK bookkeeping after any segment carrying ACK.
func (c *Conn) ackSent(now time.Duration) {
	if c.ackPending || c.ackNow {
		if c.quickAcks > 0 {
			c.quickAcks--
		}
	}
	c.ackNow, c.ackPending = false, false
	c.disarm(timerDelAck)
}

// sendAck sends a bare ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. SND.NXT
// here is the highest sequence number sent (SND.MAX): after an RTO pulls
// the resend point back, an ACK numbered below what the peer already
// received would fail its acceptability test and never be processed,
// deadlocking two senders recovering at once (Linux never moves snd_nxt
// back, so its ACKs carry the same value).
func (c *Conn) sendAck(now time.Duration, out Output) {
	c.emit(now, out, c.sndMax, flagACK, nil, nil, false)
}

// sendSYN sends SYN (active open) or SYN,ACK (simultaneous open or
// passive), with our options laid out as Linux does.
func (c *Conn) sendSYN(now time.Duration, out Output, ack bool) {
	h := &c.hdr
	*h = wire.TCPHeader{SrcPort: c.tuple.Local.Port(), DstPort: c.tuple.Remote.Port(), Seq: uint32(c.iss), Flags: flagSYN}
	o := &c.opts
	*o = wire.TCPOptions{}
	o.HasMSS, o.MSS = true, uint16(c.advMSS)
	// On SYN-ACK only echo what the peer offered; on SYN offer it all.
	if ack {
		h.Flags |= flagACK
		h.Ack = uint32(c.rcvNxt)
		o.SACKPermitted = c.sackOK
		if c.tsOK {
			o.HasTS, o.TSVal, o.TSEcr = true, c.tsNow(now), c.tsRecent
		}
		if c.wsOK {
			o.HasWScale, o.WScale = true, c.rcvWscale
		}
	} else {
		o.SACKPermitted = !c.cfg.DisableSACK
		if !c.cfg.DisableTimestamps {
			o.HasTS, o.TSVal = true, c.tsNow(now)
		}
		if !c.cfg.DisableWindowScaling {
			o.HasWScale, o.WScale = true, c.rcvWscale
		}
	}
	// The window in a SYN is never scaled (RFC 7323 §2.2).
	h.Window = uint16(min(c.rcvSsthresh, 65535))
	// Internally the whole initial window counts as offered, though the
	// unscaled SYN field shows at most 65535 of it (Linux rcv_wnd): the
	// first ACK then advertises all of it.
	c.rcvWnd = c.rcvSsthresh
	c.rcvWup = c.rcvNxt
	if c.sndMax == c.iss {
		c.sndNxt, c.sndMax = c.iss.Add(1), c.iss.Add(1)
		c.cnt.OutSegs++
	} else {
		c.cnt.RetransSegs++
		c.cnt.TCPSynRetrans++
		c.totalRetrans++
	}
	c.segsOut++
	out.Send(&c.tuple, h, o, nil, nil)
}

// sendRST sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>, the reset Linux
// sends when it aborts a synchronized connection (SND.MAX, as for ACKs, so
// that it lands exactly at the peer's RCV.NXT).
func (c *Conn) sendRST(now time.Duration, out Output) {
	c.emit(now, out, c.sndMax, flagRST|flagACK, nil, nil, false)
}

// selectWindow computes the window to advertise, records it, and returns
// the scaled 16-bit value. The right edge never moves left (RFC 9293
// §3.8.6.2.2 and Linux), and it moves right only by at least
// min(space/2, MSS) (receiver SWS avoidance), the space being RcvBuf/2.
func (c *Conn) selectWindow() uint16 {
	wnd := c.newWindow()
	if wnd == 0 && c.rcvWnd != 0 {
		c.cnt.TCPToZeroWindowAdv++
	}
	c.rcvWup = c.rcvNxt
	if c.state == SynSent {
		// Not synchronized: the window is not scaled yet.
		c.rcvWnd = wnd
		return uint16(min(wnd, 65535))
	}
	w := wnd >> c.rcvWscale
	if w > 65535 {
		// The field cannot say more (without window scaling, 65535):
		// what is offered is what it says (Linux clamps rcv_wnd too).
		w = 65535
		wnd = w << c.rcvWscale
	}
	c.rcvWnd = wnd
	return uint16(w)
}

// newWindow is the window (bytes, a multiple of the scale unit) we would
// advertise now, without recording it.
func (c *Conn) newWindow() uint32 {
	return offerWindow(c.cfg.winSpace(), c.rcvQ.n+c.ooo.Len(), c.rcvSsthresh, uint32(c.rcvMSS), c.curWindow(), c.rcvWscale)
}

// offerWindow is newWindow on values: space is the receive space, used
// what the queues hold of it, cur what remains of the window last
// advertised (a TIME-WAIT record computes its windows with it too).
func offerWindow(space, used int, ssthresh, mss, cur uint32, wscale uint8) uint32 {
	free := max(space-used, 0)
	wnd := min(uint32(free), ssthresh)
	if wnd < mss && free < space/2 {
		wnd = 0 // Linux: no window smaller than a segment while filling up
	}
	unit := uint32(1) << wscale
	// Never shrink: at least the old right edge, rounded up to the unit.
	keep := (cur + unit - 1) &^ (unit - 1)
	if wnd <= cur || wnd-cur < min(uint32(space/2), mss) {
		return keep
	}
	return max(wnd&^(unit-1), keep)
}

// curWindow is what remains of the window last advertised:
// RCV.WUP + RCV.WND - RCV.NXT, or 0.
func (c *Conn) curWindow() uint32 {
	right := c.rcvWup.Add(seqnum.Size(c.rcvWnd))
	if right.LessThanEq(c.rcvNxt) {
		return 0
	}
	return uint32(right.Sub(c.rcvNxt))
}

// RespondNoConn answers a segment that matched no connection or listener
// (RFC 9293 §3.10.7.1, CLOSED state): a RST unless the segment is itself a
// RST. If the segment has ACK the reset is <SEQ=SEG.ACK><CTL=RST>,
// otherwise <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. t is from our side
// (Local is the segment's destination). It allocates a little; the shard's
// hot path should use a Responder.
func RespondNoConn(now time.Duration, t Tuple, seg *Segment, out Output) {
	var r Responder
	r.Respond(now, t, seg, out)
}

// Responder sends the resets of RFC 9293 §3.10.7.1 for segments that
// match nothing, without allocating. Keep one per shard.
type Responder struct {
	// Counters, when set, counts OutRsts and OutSegs.
	Counters *Counters
	tuple    Tuple
	hdr      wire.TCPHeader
	opts     wire.TCPOptions
}

// Respond is RespondNoConn through r's scratch space.
func (r *Responder) Respond(now time.Duration, t Tuple, seg *Segment, out Output) {
	_ = now
	if seg.has(flagRST) {
		return
	}
	r.tuple = t
	h := &r.hdr
	*h = wire.TCPHeader{SrcPort: t.Local.Port(), DstPort: t.Remote.Port()}
	if seg.has(flagACK) {
		h.Seq = uint32(seg.Ack)
		h.Flags = flagRST
	} else {
		h.Ack = uint32(seg.Seq.Add(seg.segLen()))
		h.Flags = flagRST | flagACK
	}
	if r.Counters != nil {
		r.Counters.OutRsts++
		r.Counters.OutSegs++
	}
	out.Send(&r.tuple, h, &r.opts, nil, nil)
}
