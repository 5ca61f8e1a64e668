package ip

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

// DFMode chooses the Don't Fragment bit, as Linux's IP_MTU_DISCOVER.
type DFMode uint8

const (
	// DFDefault is DFDo for TCP and DFWant for every other protocol:
	// what Linux does with its default ip_no_pmtu_disc=0.
	DFDefault DFMode = iota
	// DFWant sets DF on datagrams that fit the MTU and fragments the
	// others (IP_PMTUDISC_WANT; Linux's UDP default).
	DFWant
	// DFDo always sets DF; a datagram over the MTU is refused with
	// ErrMsgSize (IP_PMTUDISC_DO; what TCP gets).
	DFDo
	// DFDont never sets DF and fragments as needed (IP_PMTUDISC_DONT).
	DFDont
)

// Opts are per-datagram output options for OutputOpts. The zero value is
// Output's behaviour.
type Opts struct {
	DF  DFMode
	TTL uint8 // 0: Config.TTL
	TOS uint8 // DSCP and ECN bits
}

// Output sends the L4 packet in b to dst with protocol proto and default
// options. See OutputOpts.
func (h *Host) Output(now time.Duration, dst netip.Addr, proto uint8, b *link.Buf, out Output) error {
	return h.OutputOpts(now, dst, proto, b, Opts{}, out)
}

// OutputOpts sends the L4 packet in b (with headroom for the IPv4 and
// Ethernet headers, 34 bytes) to dst: it routes, prepends the IPv4 header,
// fragments when b is larger than the MTU and DF allows it, resolves the
// next hop (queueing b, bounded, while ARP is pending) and sends.
//
// It takes ownership of b in every case. An error means b was dropped:
// ErrNoRoute, ErrMsgSize (too big and DF), ErrNoBuffer, ErrBadAddress.
// nil means sent or queued for resolution; resolution failure is reported
// later through the NeighFailureHandler and ICMPErrorHandler.
func (h *Host) OutputOpts(now time.Duration, dst netip.Addr, proto uint8, b *link.Buf, o Opts, out Output) error {
	h.c.OutRequests++
	dst = dst.Unmap() // accept IPv4-mapped IPv6 from dual-stack callers
	if !dst.Is4() {
		h.c.OutDiscards++
		b.Free()
		return fmt.Errorf("%w: %v is not IPv4", ErrBadAddress, dst)
	}
	d := a4(dst)
	if d == 0 {
		h.c.OutDiscards++
		b.Free()
		return fmt.Errorf("%w: unspecified destination", ErrBadAddress)
	}
	if d != h.self && !h.routable(d) {
		h.c.OutNoRoutes++
		b.Free()
		return fmt.Errorf("%w: %v", ErrNoRoute, dst)
	}
	df := o.DF
	if df == DFDefault {
		df = DFWant
		if proto == wire.ProtoTCP {
			df = DFDo
		}
	}
	ttl := o.TTL
	if ttl == 0 {
		ttl = h.cfg.TTL
	}
	total := b.Len() + wire.IPv4MinHeaderLen
	if total > wire.IPv4MaxTotalLen {
		h.c.OutDiscards++
		b.Free()
		return fmt.Errorf("%w: %d-byte datagram", ErrMsgSize, total)
	}
	// A GSO super-segment (link.FlagGSO) is cut by the link, not here.
	if total > h.cfg.MTU || h.pmtuUsed != 0 {
		if mtu := h.pathMTU(now, d); total > mtu && d != h.self && b.Flags&link.FlagGSO == 0 {
			if df == DFDo {
				h.c.FragFails++
				b.Free()
				return fmt.Errorf("%w: %d-byte datagram, path MTU %d", ErrMsgSize, total, mtu)
			}
			return h.fragmentOut(now, d, mtu, proto, ttl, o.TOS, b, out)
		}
	}
	hdr := b.Prepend(wire.IPv4MinHeaderLen)
	if hdr == nil {
		h.c.OutDiscards++
		b.Free()
		return fmt.Errorf("%w: %d bytes of headroom", ErrNoBuffer, b.Headroom())
	}
	var ff uint16
	if df != DFDont {
		ff = 0x4000
	}
	// h.self is h.addr and d is dst in wire form: no netip conversions
	// per packet.
	wire.PutIPv4Raw(hdr, o.TOS, uint16(total), h.nextID(), ff, ttl, proto, h.self, d)
	h.sendIP(now, d, b, out)
	return nil
}

func (h *Host) routable(d uint32) bool {
	if d == limitedBroadcast || d == h.bcast || isMulticast(d) {
		return true
	}
	_, ok := h.routes.lookup(d)
	return ok
}

// sendIP sends b, whose data starts at a complete IPv4 header, towards
// dst: broadcast and multicast straight to their MAC, our own address to
// the loopback queue, the rest through the route's next hop. It takes b.
func (h *Host) sendIP(now time.Duration, dst uint32, b *link.Buf, out Output) {
	switch {
	case dst == h.self:
		h.loop(now, b)
	case dst == limitedBroadcast || dst == h.bcast:
		h.sendEth(b, wire.BroadcastMAC(), out)
	case isMulticast(dst):
		// RFC 1112 6.4: 01:00:5e and the low 23 bits of the group.
		h.sendEth(b, [6]byte{0x01, 0x00, 0x5e, byte(dst>>16) & 0x7f, byte(dst >> 8), byte(dst)}, out)
	default:
		nh, ok := h.routes.lookup(dst)
		if !ok {
			h.c.OutNoRoutes++
			b.Free()
			return
		}
		h.xmit(now, nh, b, out)
	}
}

// fragmentOut cuts the L4 packet in b into fragments of at most mtu bytes
// (RFC 791 3.2): b keeps the first piece, later pieces are copied into
// fresh buffers from out.Pool(). When b's buffers are larger than out's
// (a datagram built in the reassembly pool or another large pool), the
// first piece is copied too and b is freed at once: a large buffer is
// never pinned by a link as one small frame (nor, over link/mem, held by
// the peer's reassembly and charged at its full size there). All buffers
// are taken before anything is sent, so the datagram goes out whole or
// not at all.
func (h *Host) fragmentOut(now time.Duration, dst uint32, mtu int, proto, ttl, tos uint8, b *link.Buf, out Output) error {
	data := b.Bytes()
	if b.Flags&link.FlagCsumPartial != 0 {
		// No link can finish a checksum spread over fragments: do it
		// here (the field holds the pseudo-header sum, so summing the
		// whole L4 packet completes it).
		if !completeChecksum(proto, data) {
			b.Free()
			h.c.FragFails++
			h.c.OutDiscards++
			return fmt.Errorf("%w: cannot fragment: partial checksum of protocol %d", ErrMsgSize, proto)
		}
		b.Flags &^= link.FlagCsumPartial
	}
	chunk := (mtu - wire.IPv4MinHeaderLen) &^ 7
	copyFirst := b.Pool() != out.Pool() && b.Pool().BufSize() > out.Pool().BufSize()
	start := chunk
	if copyFirst {
		start = 0
	}
	var head, tail *link.Buf
	freeAll := func() {
		for f := head; f != nil; {
			n := f.Next
			f.Next = nil
			f.Free()
			f = n
		}
		b.Free()
	}
	for off := start; off < len(data); off += chunk {
		f := out.Pool().Get()
		var p []byte
		if f != nil {
			p = f.Extend(min(chunk, len(data)-off))
		}
		if p == nil || f.Headroom() < wire.IPv4MinHeaderLen+wire.EthernetHeaderLen {
			f.Free()
			freeAll()
			h.c.FragFails++
			h.c.OutDiscards++
			return fmt.Errorf("%w: fragmenting a %d-byte datagram", ErrNoBuffer, len(data)+wire.IPv4MinHeaderLen)
		}
		copy(p, data[off:])
		if tail == nil {
			head = f
		} else {
			tail.Next = f
		}
		tail = f
	}
	if copyFirst {
		b.Free()
	} else {
		if b.Headroom() < wire.IPv4MinHeaderLen+wire.EthernetHeaderLen {
			freeAll()
			h.c.FragFails++
			h.c.OutDiscards++
			return fmt.Errorf("%w: %d bytes of headroom", ErrNoBuffer, b.Headroom())
		}
		b.SetLen(chunk)
		b.Next = head
		head = b
	}
	ih := wire.IPv4Header{
		TOS: tos, ID: h.nextID(), TTL: ttl, Protocol: proto,
		Src: h.addr, Dst: addrOf(dst),
	}
	h.c.FragOKs++
	off := 0
	for f := head; f != nil; {
		next := f.Next
		f.Next = nil
		ih.FragOff = uint16(off)
		ih.MF = next != nil
		ih.TotalLen = uint16(f.Len() + wire.IPv4MinHeaderLen)
		off += f.Len()
		wire.PutIPv4(f.Prepend(wire.IPv4MinHeaderLen), &ih)
		h.c.FragCreates++
		h.sendIP(now, dst, f, out)
		f = next
	}
	return nil
}

// loop queues a datagram to our own address; Tick delivers it (never
// re-entering a transport from inside its own Output call).
func (h *Host) loop(now time.Duration, b *link.Buf) {
	if b.Flags&link.FlagCsumPartial != 0 {
		// Built here and never on a wire: as good as verified (Linux's
		// loopback does the same).
		b.Flags = b.Flags&^link.FlagCsumPartial | link.FlagCsumValid
	}
	b.Next = nil
	if h.loopTail == nil {
		h.loopHead = b
	} else {
		h.loopTail.Next = b
	}
	h.loopTail = b
	h.arm(now)
}

func (h *Host) deliverLoop(now time.Duration, out Output) {
	b := h.loopHead
	h.loopHead, h.loopTail = nil, nil
	for b != nil {
		next := b.Next
		b.Next = nil
		h.pkt.SrcMAC = h.mac
		h.inputIPv4(now, b, true, out)
		b = next
	}
}

// completeChecksum fills in the L4 checksum of a FlagCsumPartial packet of
// a protocol whose checksum field ustack knows (TCP, UDP).
func completeChecksum(proto uint8, l4 []byte) bool {
	var off int
	switch proto {
	case wire.ProtoUDP:
		off = 6
	case wire.ProtoTCP:
		off = 16
	default:
		return false
	}
	if len(l4) < off+2 {
		return false
	}
	ck := wire.Checksum(l4)
	if ck == 0 && proto == wire.ProtoUDP {
		ck = 0xffff // RFC 768: zero means "no checksum"
	}
	l4[off], l4[off+1] = byte(ck>>8), byte(ck)
	return true
}
