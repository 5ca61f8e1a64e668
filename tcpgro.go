package ustack

import (
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/tcp"
	"github.com/ustack/ustack/tcp/seqnum"
	"github.com/ustack/ustack/wire"
)

// Segmentation offload in the glue.
//
// Transmit (TSO/GSO): when the link implements link.GSO, New sets the
// engine's tcp.Config.GSOMaxSize from what one transmit frame can hold —
// min(MaxFrame, the link pool's buffer size) less the headers, and at
// most a 64 KiB IP packet — unless Config.DisableGSO is set or
// TCP.GSOMaxSize already asks for less. Big transmit buffers come from the
// link's own pool, so a link offering GSO must have a pool of big buffers
// (link/mem WithGSO sizes its pool to the GSO frame unless told otherwise;
// link/tap WithOffload(true) makes 64 KiB buffers); a link whose pool
// buffers hold one MTU-sized frame gets no GSO. segOut.SendGSO builds the
// super-segment into one Buf marked FlagGSO with GSOSize = MSS and a
// partial checksum (the pseudo-header sum, FlagCsumPartial), which the
// link or kernel completes for each piece it cuts (tap and afpacket with
// a vnet header). Over link/mem the super-segment reaches the peer whole;
// a ustack receiver accepts it like any segment (as Linux accepts GRO
// aggregates larger than its MSS) and trusts a FlagCsumPartial frame as
// built in-process.
//
// Receive (GRO): in-order data segments of one connection that arrive in
// the same receive burst are processed as a run (tcp.Conn.InputRun, one
// per segment, each kept in its own frame: no copy, no allocation) and
// answered once at the end of the run (tcp.Conn.EndRun): one ACK for the
// run, as Linux acknowledges one GRO aggregate. A segment continues the
// open run of its connection when it is the next in sequence, carries
// ACK (and maybe PSH) and nothing else, has the same ACK number, window
// and option layout (timestamps only, TSval not going back, same TSecr)
// and is no larger than the run's first segment, up to 64 KiB a run; PSH or a shorter
// segment joins and then ends the run, and anything else ends the run
// before it is processed — except the FIN that follows a run's data in
// sequence, which joins it. Runs end after the burst's events are
// dispatched (endBurst), so that the ACK a run owes rides on what the
// handlers send in answer (a request's ACK on its response), or when the
// connection's timer fires. Two other segments go through one-segment
// runs for the same reason (deferAck): the SYN,ACK of an active open and
// an in-order FIN (with or without data). TCPStats.GROSegs counts the segments that joined
// a run.

// maxRuns bounds the runs open at once; the oldest ends when it is full.
const maxRuns = 8

// maxRunBytes bounds a run's payload, as Linux bounds a GRO aggregate to
// a 64 KiB IP packet.
const maxRunBytes = 65535 - 20 - 60

// groRun is one connection's open run.
type groRun struct {
	ep     *endpoint
	next   seqnum.Value // sequence number the next segment must have
	ack    seqnum.Value
	wnd    uint16
	size   int // payload of the first segment
	bytes  int // payload so far
	hasTS  bool
	tsVal  uint32
	tsEcr  uint32
	closed bool // a segment with PSH or a short one ended it
}

// groEligible reports whether seg may start or continue a run: payload,
// ACK with at most PSH, and no option but timestamps.
func groEligible(seg *tcp.Segment) bool {
	o := &seg.Opts
	return len(seg.Payload) > 0 && seg.Flags&^wire.TCPFlagPSH == wire.TCPFlagACK &&
		o.NumSACK == 0 && !o.HasMSS && !o.HasWScale && !o.SACKPermitted && !o.HasTFO && !o.HasMD5
}

// continues reports whether seg extends r.
func (r *groRun) continues(seg *tcp.Segment) bool {
	o := &seg.Opts
	return !r.closed && seg.Seq == r.next && seg.Ack == r.ack && seg.Window == r.wnd &&
		len(seg.Payload) <= r.size && r.bytes+len(seg.Payload) <= maxRunBytes && o.HasTS == r.hasTS &&
		(!o.HasTS || (o.TSEcr == r.tsEcr && int32(o.TSVal-r.tsVal) >= 0))
}

// add records seg as the run's latest segment.
func (r *groRun) add(seg *tcp.Segment) {
	r.next = seg.Seq.Add(seqnum.Size(len(seg.Payload)))
	r.bytes += len(seg.Payload)
	r.tsVal = seg.Opts.TSVal
	if seg.Flags&wire.TCPFlagPSH != 0 || len(seg.Payload) < r.size {
		r.closed = true
	}
}

// deliverRun feeds seg for ep through a run when it can: it continues
// ep's open run, or opens one. It reports false, after ending ep's run
// if it had one, when seg must go through Input instead.
func (l *tcpLayer) deliverRun(ep *endpoint, seg *tcp.Segment, b *link.Buf) bool {
	i := l.runOf(ep)
	if i >= 0 {
		r := &l.runs[i]
		if groEligible(seg) && r.continues(seg) {
			r.add(seg)
			l.stats.GROSegs++
			ep.conn.InputRun(l.out.now, seg, b, &l.out)
			return true
		}
		if r.endsWith(seg) {
			// The peer's FIN right after the run's data (a response and
			// its close): one ACK for both, after the handlers.
			r.closed = true
			ep.conn.InputRun(l.out.now, seg, b, &l.out)
			return true
		}
		l.endRun(i)
	}
	if !groEligible(seg) {
		return l.deferAck(ep, seg, b)
	}
	switch ep.conn.State() {
	case tcp.Established, tcp.FinWait1, tcp.FinWait2: // states that take data
	default:
		return false
	}
	if len(l.runs) == maxRuns {
		l.endRun(0)
	}
	l.runs = append(l.runs, groRun{
		ep: ep, ack: seg.Ack, wnd: seg.Window, size: len(seg.Payload),
		hasTS: seg.Opts.HasTS, tsEcr: seg.Opts.TSEcr,
	})
	l.runs[len(l.runs)-1].add(seg)
	ep.conn.InputRun(l.out.now, seg, b, &l.out)
	return true
}

// endsWith reports whether seg is the FIN that follows r's data in
// sequence, with nothing else: no payload, the same ACK, window and
// option layout.
func (r *groRun) endsWith(seg *tcp.Segment) bool {
	o := &seg.Opts
	return seg.Flags&^wire.TCPFlagPSH == wire.TCPFlagACK|wire.TCPFlagFIN && len(seg.Payload) == 0 &&
		seg.Seq == r.next && seg.Ack == r.ack && seg.Window == r.wnd && o.HasTS == r.hasTS &&
		o.NumSACK == 0 && !o.HasMSS && !o.HasWScale && !o.SACKPermitted && !o.HasTFO && !o.HasMD5
}

// deferAck feeds the segments whose ACK is best sent after the burst's
// handlers ran, through a run that takes no other segment: the SYN,ACK
// that completes an active open (the handshake's ACK then rides on what
// Established writes) and an in-order FIN, bare or with the last data
// (its ACK rides on the FIN or answer the application sends on EOF). It
// reports false, touching nothing, for any other segment.
func (l *tcpLayer) deferAck(ep *endpoint, seg *tcp.Segment, b *link.Buf) bool {
	c := ep.conn
	switch st := c.State(); {
	case st == tcp.SynSent && seg.Flags == wire.TCPFlagSYN|wire.TCPFlagACK:
	case (st == tcp.Established || st == tcp.FinWait1 || st == tcp.FinWait2) &&
		seg.Flags&^wire.TCPFlagPSH == wire.TCPFlagACK|wire.TCPFlagFIN &&
		seg.Seq == c.RcvNxt() && seg.Opts.NumSACK == 0:
	default:
		return false
	}
	l.deferEnd(ep)
	c.InputRun(l.out.now, seg, b, &l.out)
	return true
}

// deferEnd opens a run for ep that takes no segment: the EndRun owed for
// a segment fed through InputRun waits for the end of the burst.
func (l *tcpLayer) deferEnd(ep *endpoint) {
	if len(l.runs) == maxRuns {
		l.endRun(0)
	}
	l.runs = append(l.runs, groRun{ep: ep, closed: true})
}

// runOf is the index of ep's open run, or -1.
func (l *tcpLayer) runOf(ep *endpoint) int {
	for i := range l.runs {
		if l.runs[i].ep == ep {
			return i
		}
	}
	return -1
}

// endRun ends run i: the ACK owed and what the window allows go out.
func (l *tcpLayer) endRun(i int) {
	ep := l.runs[i].ep
	copy(l.runs[i:], l.runs[i+1:])
	l.runs[len(l.runs)-1] = groRun{}
	l.runs = l.runs[:len(l.runs)-1]
	ep.conn.EndRun(l.out.now, &l.out)
	l.touch(ep)
}

// endRunOf ends ep's run if it has one open.
func (l *tcpLayer) endRunOf(ep *endpoint) {
	if i := l.runOf(ep); i >= 0 {
		l.endRun(i)
	}
}

// endRuns ends every open run.
func (l *tcpLayer) endRuns() {
	for len(l.runs) > 0 {
		l.endRun(len(l.runs) - 1)
	}
}

// gsoMaxSize is the largest TCP payload one transmit frame of lk can
// carry as a super-segment, or 0 when the link cannot take one of at
// least two segments of an mtu path.
func gsoMaxSize(lk link.Link, mtu int) int {
	g, ok := lk.(link.GSO)
	if !ok {
		return 0
	}
	// The TCP segment is built into the buffer's data space; the IPv4
	// and Ethernet headers go into its headroom.
	seg := min(g.MaxFrame()-wire.EthernetHeaderLen-wire.IPv4MinHeaderLen,
		lk.Pool().BufSize(), wire.IPv4MaxTotalLen-wire.IPv4MinHeaderLen)
	n := seg - 60 // the largest TCP header
	if n < 2*(mtu-40) {
		return 0
	}
	return n
}
