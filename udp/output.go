package udp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/ustack/ustack/ip"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

// Headroom is what Build needs in front of the data for the IPv4 and
// Ethernet headers the layers below prepend.
const Headroom = wire.IPv4MinHeaderLen + wire.EthernetHeaderLen

// MaxIPv4Payload is the largest UDP payload an IPv4 datagram can carry:
// 65535 - 20 (IPv4 header) - 8 (UDP header).
const MaxIPv4Payload = wire.IPv4MaxTotalLen - wire.IPv4MinHeaderLen - wire.UDPHeaderLen

// MaxPayload is the largest payload Build accepts into buffers of bufSize
// bytes (link.Pool.BufSize): the datagram must fit in one buffer, which
// the IP layer then fragments to the MTU, and in one IPv4 datagram.
func MaxPayload(bufSize int) int {
	return max(0, min(MaxIPv4Payload, bufSize-wire.UDPHeaderLen))
}

var errBuildBuf = errors.New("udp: Build needs an empty buffer with 34 bytes of headroom")

// Build writes a UDP datagram from src to dst carrying payload into b,
// which must be empty (fresh from its pool), with its checksum, and marks
// b link.FlagCsumValid. It is a pure function of its arguments and safe on
// any goroutine: writers call it on their own goroutine so that the one
// copy of the payload happens there, not on the shard. Errors: ErrMsgSize
// when the datagram does not fit in b, ErrBadAddress when src or dst is
// not IPv4 or dst's port is 0.
func Build(b *link.Buf, src, dst netip.AddrPort, payload []byte) error {
	if b.Len() != 0 || b.Headroom() < Headroom {
		return errBuildBuf
	}
	if !src.Addr().Is4() || !dst.Addr().Is4() || dst.Port() == 0 {
		return fmt.Errorf("%w: %v to %v", ErrBadAddress, src, dst)
	}
	if len(payload) > MaxIPv4Payload {
		return fmt.Errorf("%w: %d-byte payload, at most %d over IPv4", ErrMsgSize, len(payload), MaxIPv4Payload)
	}
	d := b.Extend(wire.UDPHeaderLen + len(payload))
	if d == nil {
		return fmt.Errorf("%w: %d-byte payload, at most %d in one buffer", ErrMsgSize, len(payload), b.Tailroom()-wire.UDPHeaderLen)
	}
	if _, err := wire.PutUDPHeader(d, src.Port(), dst.Port(), len(payload)); err != nil {
		b.SetLen(0)
		return fmt.Errorf("%w: %w", ErrMsgSize, err)
	}
	copy(d[wire.UDPHeaderLen:], payload)
	wire.UDP(d).SetChecksum4(src.Addr().As4(), dst.Addr().As4())
	b.Flags |= link.FlagCsumValid
	return nil
}

// Output sends a datagram made by Build from endpoint e to dst through the
// IP layer. It takes ownership of b in every case. Errors: ErrNotBound
// (e was unbound meanwhile), and the IP layer's (ip.ErrNoRoute,
// ip.ErrMsgSize, ip.ErrNoBuffer, ip.ErrBadAddress).
func (t *Table) Output(now time.Duration, e *Endpoint, dst netip.Addr, b *link.Buf, out ip.Output) error {
	if !e.bound {
		b.Free()
		return ErrNotBound
	}
	if err := t.net.Output(now, dst, wire.ProtoUDP, b, out); err != nil {
		if errors.Is(err, ip.ErrNoBuffer) {
			t.c.SndbufErrors++
		} else {
			t.c.OutErrors++
		}
		return err
	}
	t.c.OutDatagrams++
	return nil
}

// CountSndbufError counts a datagram that could not be sent because no
// buffer was available to build it in (a writer found the pool empty).
func (t *Table) CountSndbufError() { t.c.SndbufErrors++ }
