package udp

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/ustack/ustack/ip"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

// codePortUnreachable is ICMP destination unreachable code 3 (RFC 792).
const codePortUnreachable = 3

// srcLen is the sender's IPv4 address, written into the headroom in front
// of the UDP header of a queued datagram.
const srcLen = 4

// Deliver takes a UDP datagram from the IP layer (b's data starts at the
// UDP header). It implements ip.Transport.
func (t *Table) Deliver(now time.Duration, p *ip.Packet, b *link.Buf, out ip.Output) {
	u, err := wire.ParseUDP(b.Bytes())
	if err != nil || !p.Src.Is4() || !p.Dst.Is4() {
		t.c.InErrors++
		b.Free()
		return
	}
	if b.Flags&link.FlagCsumValid == 0 && !u.ChecksumValid4(p.Src.As4(), p.Dst.As4()) {
		t.c.InCsumErrors++
		t.c.InErrors++
		b.Free()
		return
	}
	e := t.ports[u.DstPort()]
	if e != nil && !e.addr.IsUnspecified() && e.addr != p.Dst {
		e = nil // bound to our unicast address; this went to a broadcast
	}
	if e == nil {
		if p.Broadcast {
			t.c.IgnoredMulti++
			b.Free()
			return
		}
		t.c.NoPorts++
		t.net.SendUnreachable(now, p, b, codePortUnreachable, out)
		return
	}
	charge := Charge(b)
	if held := e.charged.Load(); held > 0 && held+int64(charge) > e.limit {
		t.c.RcvbufErrors++
		t.c.InErrors++
		b.Free()
		return
	}
	// Keep the header (it has the source port) and put the source address
	// in front of it, over the end of the IPv4 header already consumed.
	b.SetLen(u.Length())
	hdr := b.Prepend(srcLen)
	if hdr == nil {
		t.c.InErrors++
		b.Free()
		return
	}
	src := p.Src.As4()
	copy(hdr, src[:])
	b.Next = nil
	e.charged.Add(int64(charge))
	if e.tail == nil {
		e.head = b
	} else {
		e.tail.Next = b
	}
	e.tail = b
	e.n++
	t.c.InDatagrams++
	if !e.ready {
		e.ready = true
		t.ready = append(t.ready, e)
	}
}

// Charge is what a queued datagram costs against its endpoint's receive
// buffer: the whole buffer it pins (its pool's buffer size), not just the
// payload, as Linux charges an skb's truesize. It depends only on b's
// pool, so it is the same when charged and when released.
func Charge(b *link.Buf) int {
	if p := b.Pool(); p != nil {
		return p.BufSize()
	}
	return b.Len()
}

// Datagram reads a datagram as a Receiver is given it: the sender's
// address and the payload, which aliases b (valid until b is freed).
func Datagram(b *link.Buf) (src netip.AddrPort, payload []byte) {
	d := b.Bytes()
	if len(d) < srcLen+wire.UDPHeaderLen {
		return netip.AddrPort{}, nil
	}
	a := netip.AddrFrom4([4]byte(d[:srcLen]))
	port := binary.BigEndian.Uint16(d[srcLen:])
	return netip.AddrPortFrom(a, port), d[srcLen+wire.UDPHeaderLen:]
}
