package ip

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

// tokenScale: ICMP error tokens are kept in units of 1/tokenScale so
// refill needs no floating point: one token is worth one second of rate.
const tokenScale = int64(time.Second)

// icmpAllow takes a token from the ICMP error bucket (ICMP.ErrorRate per
// second, ICMP.ErrorBurst deep), reporting false when it is empty.
func (h *Host) icmpAllow(now time.Duration) bool {
	rate := int64(h.cfg.ICMP.ErrorRate)
	if rate < 0 {
		return true
	}
	burst := int64(h.cfg.ICMP.ErrorBurst) * tokenScale
	if !h.icmpInit {
		h.icmpInit = true
		h.icmpTokens = burst
		h.icmpLast = now
	}
	if el := int64(now - h.icmpLast); el > 0 {
		// Cap elapsed time before multiplying so it cannot overflow.
		if el > burst/max(rate, 1)+1 {
			h.icmpTokens = burst
		} else {
			h.icmpTokens = min(burst, h.icmpTokens+el*rate)
		}
		h.icmpLast = now
	}
	if h.icmpTokens < tokenScale {
		return false
	}
	h.icmpTokens -= tokenScale
	return true
}

// icmpPeerSlots sizes the per-destination rate limit table: direct
// mapped, a colliding destination takes the slot over with a fresh burst.
const icmpPeerSlots = 256

type icmpPeer struct {
	dst    uint32
	tokens time.Duration
	last   time.Duration
	used   bool
}

// icmpPeerAllow is Linux's per-peer limit: tokens are time, capped at
// PeerBurst intervals; an error costs one interval.
func (h *Host) icmpPeerAllow(now time.Duration, dst uint32) bool {
	iv := h.cfg.ICMP.PeerInterval
	if iv < 0 {
		return true
	}
	p := &h.icmpPeers[pmtuIndex(dst)]
	if !p.used || p.dst != dst {
		*p = icmpPeer{dst: dst, used: true, tokens: time.Duration(h.cfg.ICMP.PeerBurst) * iv, last: now}
	}
	if now > p.last {
		p.tokens += now - p.last
		p.last = now
	}
	p.tokens = min(p.tokens, time.Duration(h.cfg.ICMP.PeerBurst)*iv)
	if p.tokens < iv {
		return false
	}
	p.tokens -= iv
	return true
}

// sendICMPError sends an ICMP error about orig, a datagram we received
// (IPv4 header first), to its source, unless RFC 1122 3.2.2 forbids it:
// never about an ICMP error, a non-initial fragment, or a datagram whose
// source is not a unicast host. The caller has excluded broadcast and
// multicast destinations.
func (h *Host) sendICMPError(now time.Duration, typ, code uint8, mtu uint16, orig []byte, out Output) {
	ip, err := wire.ParseIPv4Partial(orig)
	if err != nil || ip.FragOffset() != 0 {
		return
	}
	src := b4(ip.Src4())
	if src == 0 || src == h.bcast || src == limitedBroadcast || isMulticast(src) {
		return
	}
	if ip.Protocol() == wire.ProtoICMP {
		if m, err := wire.ParseICMPv4(ip.Payload()); err != nil || m.IsError() {
			return
		}
	}
	if !h.icmpPeerAllow(now, src) || !h.icmpAllow(now) {
		h.c.OutIcmpRateLimited++
		return
	}
	b := out.Pool().Get()
	if b == nil {
		h.c.OutDiscards++
		return
	}
	// Quote as much as fits in 576 bytes and the MTU, as Linux does.
	room := wire.ICMPv4HeaderLen + min(wire.ICMPv4MaxQuote, h.cfg.MTU-wire.IPv4MinHeaderLen-wire.ICMPv4HeaderLen)
	p := b.Extend(min(b.Tailroom(), room))
	n, err := wire.PutICMPv4Error(p, typ, code, mtu, ip)
	if err != nil {
		h.c.OutDiscards++
		b.Free()
		return
	}
	b.SetLen(n)
	h.c.OutMsgs++
	if typ == wire.ICMPv4DestUnreach {
		h.c.OutDestUnreachs++
	} else if typ == wire.ICMPv4TimeExceeded {
		h.c.OutTimeExcds++
	}
	// Linux: the quoted TOS with precedence "internetwork control".
	h.OutputOpts(now, addrOf(src), wire.ProtoICMP, b, Opts{DF: DFDont, TOS: ip.TOS()&0x1e | 0xc0}, out)
}

// SendUnreachable answers the datagram a Transport was given with an ICMP
// destination unreachable of the given code (3, port unreachable, for
// UDP), rate limited and subject to RFC 1122's rules. b must be as
// delivered (data starting at the L4 header; the IP header still in front
// of it). It takes ownership of b.
func (h *Host) SendUnreachable(now time.Duration, p *Packet, b *link.Buf, code uint8, out Output) {
	if !p.Broadcast && b.Prepend(p.HeaderLen) != nil {
		h.sendICMPError(now, wire.ICMPv4DestUnreach, code, 0, b.Bytes(), out)
	}
	b.Free()
}

// Ping sends an ICMP echo request to dst. Replies go to the
// EchoReplyHandler. A request too large for out's buffers is built in a
// buffer of the reassembly pool (ReasmPool) and fragmented from there, so
// with the default Frag.BufSize any size up to IPv4's limit (65507 bytes
// of data) can be sent while that pool has a buffer free.
func (h *Host) Ping(now time.Duration, dst netip.Addr, id, seq uint16, data []byte, out Output) error {
	n := wire.ICMPv4HeaderLen + len(data)
	pool := out.Pool()
	if big := h.frag.pool; big != nil && n > pool.BufSize() && n <= big.BufSize() {
		pool = big
	}
	b := pool.Get()
	if b == nil {
		h.c.OutRequests++
		h.c.OutDiscards++
		return fmt.Errorf("%w: pool empty", ErrNoBuffer)
	}
	p := b.Extend(n)
	if p == nil {
		h.c.OutRequests++
		h.c.OutDiscards++
		b.Free()
		return fmt.Errorf("%w: %d bytes of echo data", ErrNoBuffer, len(data))
	}
	wire.PutICMPv4Echo(p, wire.ICMPv4Echo, id, seq, data)
	h.c.OutMsgs++
	h.c.OutEchos++
	return h.Output(now, dst, wire.ProtoICMP, b, out)
}
