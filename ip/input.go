package ip

import (
	"errors"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

// Input processes one received Ethernet frame. The Host owns b from here
// on: it frees it, keeps it, sends it back out or hands it to a Transport.
func (h *Host) Input(now time.Duration, b *link.Buf, out Output) {
	h.c.EthInFrames++
	eth, err := wire.ParseEthernet(b.Bytes())
	if err != nil {
		h.c.EthInTruncated++
		b.Free()
		return
	}
	if d := eth.Dst(); d != h.mac && !d.IsBroadcast() {
		// Multicast MACs too: this host joins no groups.
		h.c.EthInNotForUs++
		b.Free()
		return
	}
	if s := eth.Src(); s.IsMulticast() || s == h.mac {
		h.c.EthInBadSrc++
		b.Free()
		return
	}
	if eth.HeaderLen() != wire.EthernetHeaderLen {
		h.c.EthInTagged++
		b.Free()
		return
	}
	switch eth.EtherType() {
	case wire.EtherTypeIPv4:
		h.pkt.SrcMAC = eth.Src()
		h.l2bcast = eth.Dst().IsBroadcast()
		b.TrimFront(wire.EthernetHeaderLen)
		h.inputIPv4(now, b, false, out)
	case wire.EtherTypeARP:
		b.TrimFront(wire.EthernetHeaderLen)
		h.inputARP(now, b, out)
	default:
		h.c.EthInUnknownType++
		b.Free()
	}
}

// inputIPv4 checks an IPv4 datagram (b's data starts at its header) and
// delivers it. RFC 1122 3.2.1.7: a host does not drop a datagram for its
// TTL, so TTL is passed up, not checked.
// local: the datagram was sent to our own address by this host.
func (h *Host) inputIPv4(now time.Duration, b *link.Buf, local bool, out Output) {
	h.c.InReceives++
	ip, err := wire.ParseIPv4(b.Bytes())
	if err != nil {
		switch {
		case errors.Is(err, wire.ErrBadVersion):
			h.c.InBadVersion++
			h.c.InHdrErrors++
		case errors.Is(err, wire.ErrTruncated):
			h.c.InTruncatedPkts++ // not in InHdrErrors, as in Linux
		default:
			h.c.InBadHeaderLen++
			h.c.InHdrErrors++
		}
		b.Free()
		return
	}
	if !ip.ChecksumValid() {
		h.c.InCsumErrors++
		h.c.InHdrErrors++
		b.Free()
		return
	}
	b.SetLen(len(ip)) // drop link padding
	dst, src := b4(ip.Dst4()), b4(ip.Src4())
	bcast := dst == limitedBroadcast || dst == h.bcast
	// RFC 1122 3.3.6: a unicast datagram in a link-layer broadcast is
	// discarded.
	if dst != h.self && !bcast || !local && h.l2bcast && !bcast {
		h.c.InNotForUs++
		h.c.InAddrErrors++
		b.Free()
		return
	}
	if !local && (src == limitedBroadcast || src == h.bcast || isMulticast(src) || src>>24 == 127 ||
		src == h.self || (src == 0 && !bcast)) {
		h.c.InMartianSrc++
		h.c.InAddrErrors++
		b.Free()
		return
	}
	h.pkt.Reassembled = false
	if ip.IsFragment() {
		if b = h.reassemble(now, b, ip, out); b == nil {
			return
		}
		h.pkt.Reassembled = true
		ip = wire.IPv4(b.Bytes())
	}
	h.deliver(now, b, ip, bcast, out)
}

// deliver hands a whole datagram addressed to us to ICMP or its transport.
func (h *Host) deliver(now time.Duration, b *link.Buf, ip wire.IPv4, bcast bool, out Output) {
	p := &h.pkt
	p.Src, p.Dst = ip.Src(), ip.Dst()
	p.Proto, p.TTL, p.TOS, p.ID = ip.Protocol(), ip.TTL(), ip.TOS(), ip.ID()
	p.HeaderLen = ip.HeaderLen()
	p.Broadcast = bcast
	if p.Proto == wire.ProtoICMP {
		h.c.InDelivers++
		h.inputICMP(now, b, ip, bcast, out)
		return
	}
	t := h.transports[p.Proto]
	if t == nil {
		h.c.InUnknownProtos++
		if !bcast && !h.cfg.ICMP.NoProtoUnreachable {
			h.sendICMPError(now, wire.ICMPv4DestUnreach, 2, 0, ip, out)
		}
		b.Free()
		return
	}
	h.c.InDelivers++
	b.TrimFront(p.HeaderLen)
	t.Deliver(now, p, b, out)
}

// inputICMP handles an ICMP message (b's data starts at the IP header).
func (h *Host) inputICMP(now time.Duration, b *link.Buf, ip wire.IPv4, bcast bool, out Output) {
	h.c.InMsgs++
	m, err := wire.ParseICMPv4(ip.Payload())
	if err != nil {
		h.c.InErrors++
		b.Free()
		return
	}
	if b.Flags&link.FlagCsumValid == 0 && !m.ChecksumValid() {
		h.c.InIcmpCsumErrors++
		h.c.InErrors++
		b.Free()
		return
	}
	switch m.Type() {
	case wire.ICMPv4Echo:
		h.c.InEchos++
		if h.cfg.ICMP.IgnoreEcho || (bcast && !h.cfg.ICMP.EchoBroadcast) {
			b.Free()
			return
		}
		h.echoReply(now, b, ip, out)
		return
	case wire.ICMPv4EchoReply:
		h.c.InEchoReps++
		if h.echo != nil {
			h.echo.EchoReply(now, h.pkt.Src, m.ID(), m.Seq(), m.Body())
			b.Free()
			return
		}
	case wire.ICMPv4DestUnreach, wire.ICMPv4TimeExceeded, wire.ICMPv4ParamProblem:
		if m.Type() == wire.ICMPv4DestUnreach {
			h.c.InDestUnreachs++
		} else if m.Type() == wire.ICMPv4TimeExceeded {
			h.c.InTimeExcds++
		}
		h.icmpErrorIn(now, m)
		b.Free()
		return
	default:
		h.c.InOtherIcmp++
	}
	if t := h.transports[wire.ProtoICMP]; t != nil {
		b.TrimFront(h.pkt.HeaderLen)
		t.Deliver(now, &h.pkt, b, out)
		return
	}
	b.Free()
}

// icmpErrorIn passes an ICMP error about one of our datagrams to the
// transport that sent it.
func (h *Host) icmpErrorIn(now time.Duration, m wire.ICMPv4) {
	q, err := wire.ParseIPv4Partial(m.Body())
	if err != nil || len(q) < q.HeaderLen()+8 || b4(q.Src4()) != h.self {
		h.c.InErrors++
		return
	}
	eh, ok := h.transports[q.Protocol()].(ICMPErrorHandler)
	e := &h.icmpEv
	*e = ICMPError{
		Type: m.Type(), Code: m.Code(), From: h.pkt.Src,
		Src: q.Src(), Dst: q.Dst(), Proto: q.Protocol(), L4: q.Payload(),
	}
	if m.Type() == wire.ICMPv4DestUnreach && m.Code() == wire.ICMPv4FragNeeded {
		e.MTU = uint16(h.learnPMTU(now, b4(q.Dst4()), int(m.NextHopMTU()), q.TotalLen()))
	}
	if ok {
		eh.ICMPError(now, e)
	}
}

// echoReply turns the echo request in b into the reply in place: the
// ICMP type changes with an incremental checksum update (RFC 1624), the
// old IP header (and any options) is dropped and a new one is prepended
// into the same bytes by Output, which fragments a reply larger than the
// MTU. Like Linux's ICMP socket, replies are sent without DF and keep the
// request's TOS.
func (h *Host) echoReply(now time.Duration, b *link.Buf, ip wire.IPv4, out Output) {
	src, tos := ip.Src(), ip.TOS()
	b.TrimFront(ip.HeaderLen())
	b.Flags, b.GSOSize = 0, 0 // received-frame metadata means nothing on the way out
	m := b.Bytes()
	old := uint16(m[0])<<8 | uint16(m[1])
	m[0], m[1] = wire.ICMPv4EchoReply, 0
	ck := wire.UpdateChecksum16(uint16(m[2])<<8|uint16(m[3]), old, 0)
	m[2], m[3] = byte(ck>>8), byte(ck)
	h.c.OutMsgs++
	h.c.OutEchoReps++
	h.OutputOpts(now, src, wire.ProtoICMP, b, Opts{DF: DFDont, TOS: tos}, out)
}
