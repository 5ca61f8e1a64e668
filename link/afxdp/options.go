package afxdp

import (
	"fmt"
	"net/netip"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/afxdp/internal/prog"
)

// Defaults and limits for Open.
const (
	DefaultFrameSize  = 2048
	DefaultFrameCount = 4096
	MinFrameCount     = 64
	MaxFrameCount     = 1 << 20
	// DefaultMaxAddrs bounds the addresses the XDP program steers.
	DefaultMaxAddrs = 16
	// xdpHeadroom is what the kernel reserves in front of a received
	// frame inside its UMEM frame (XDP_PACKET_HEADROOM).
	xdpHeadroom = 256
	// frameOverhead is the Ethernet header plus one 802.1Q tag.
	frameOverhead = 14 + 4
)

// AttachMode chooses where the XDP program runs.
type AttachMode int

const (
	// AttachAuto tries the driver's native hook and falls back to the
	// generic (SKB) hook. The default.
	AttachAuto AttachMode = iota
	// AttachNative requires the driver hook (veth, most NIC drivers).
	AttachNative
	// AttachGeneric uses the generic hook, which every device has; slower,
	// frames are copied out of an skb.
	AttachGeneric
)

// BindMode chooses how the socket moves frames.
type BindMode int

const (
	// BindAuto lets the kernel use zero-copy when the driver supports it
	// and copy mode otherwise; if that bind fails, XDP_COPY is tried.
	BindAuto BindMode = iota
	// BindCopy forces XDP_COPY.
	BindCopy
	// BindZeroCopy requires XDP_ZEROCOPY; Open fails if the driver lacks it.
	BindZeroCopy
)

// An Option configures Open.
type Option func(*config)

type config struct {
	frameSize  int
	frameCount int
	attach     AttachMode
	bind       BindMode
	pool       link.PoolConfig
	addrs      []netip.Addr
	maxAddrs   int
	ports      []portRule
	noWakeup   bool
}

// WithFrames sets the UMEM frame size (2048 or 4096, default 2048) and
// frame count (a power of two in [64, 1<<20], default 4096). Half the
// frames receive, half transmit; each ring holds count/2 entries. A frame
// of 2048 bytes carries frames up to 1792 bytes (the kernel keeps 256
// bytes of headroom), enough for an MTU of 1500; larger MTUs need 4096.
func WithFrames(size, count int) Option {
	return func(c *config) { c.frameSize, c.frameCount = size, count }
}

// WithAttachMode chooses the XDP hook (default AttachAuto).
func WithAttachMode(m AttachMode) Option { return func(c *config) { c.attach = m } }

// WithBindMode chooses copy or zero-copy (default BindAuto).
func WithBindMode(m BindMode) Option { return func(c *config) { c.bind = m } }

// WithPool configures the link's buffer pool, which holds the stack's
// transmit frames and the copies of received ones. Zero fields take
// link's defaults, except Size, which defaults to at least the largest
// frame the link carries.
func WithPool(cfg link.PoolConfig) Option { return func(c *config) { c.pool = cfg } }

// WithAddrs makes the XDP program steer IPv4 and ARP for these addresses
// to the socket from the start (see also Link.AddAddr). Without any, no
// frame reaches the socket.
func WithAddrs(addrs ...netip.Addr) Option {
	return func(c *config) { c.addrs = append(c.addrs, addrs...) }
}

// Proto is an IP protocol a port rule applies to.
type Proto uint8

// Protocols for WithPorts and AddPort.
const (
	TCP Proto = 6
	UDP Proto = 17
)

type portRule struct {
	proto Proto
	port  uint16
}

// WithPorts narrows steering to these destination ports of proto: with
// any port given, TCP and UDP for the steered addresses reach the socket
// only when their destination port is listed (AddPort adds more later);
// ICMP, IP fragments and ARP for the addresses still do, and other TCP
// and UDP goes to the kernel. Up to 256 (protocol, port) pairs.
func WithPorts(proto Proto, ports ...uint16) Option {
	return func(c *config) {
		for _, p := range ports {
			c.ports = append(c.ports, portRule{proto, p})
		}
	}
}

// WithMaxAddrs bounds how many addresses the program can steer (default 16).
func WithMaxAddrs(n int) Option { return func(c *config) { c.maxAddrs = n } }

// withoutNeedWakeup binds without XDP_USE_NEED_WAKEUP: every Send kicks
// the kernel. For tests of the kick path.
func withoutNeedWakeup() Option { return func(c *config) { c.noWakeup = true } }

func (c *config) validate() error {
	if c.frameSize == 0 {
		c.frameSize = DefaultFrameSize
	}
	if c.frameCount == 0 {
		c.frameCount = DefaultFrameCount
	}
	if c.maxAddrs == 0 {
		c.maxAddrs = DefaultMaxAddrs
	}
	switch {
	case c.frameSize != 2048 && c.frameSize != 4096:
		return fmt.Errorf("afxdp: frame size %d is not 2048 or 4096", c.frameSize)
	case c.frameCount < MinFrameCount || c.frameCount > MaxFrameCount || c.frameCount&(c.frameCount-1) != 0:
		return fmt.Errorf("afxdp: frame count %d is not a power of two in [%d, %d]", c.frameCount, MinFrameCount, MaxFrameCount)
	case c.attach < AttachAuto || c.attach > AttachGeneric:
		return fmt.Errorf("afxdp: unknown attach mode %d", c.attach)
	case c.bind < BindAuto || c.bind > BindZeroCopy:
		return fmt.Errorf("afxdp: unknown bind mode %d", c.bind)
	case c.maxAddrs < 1 || c.maxAddrs > 1<<16:
		return fmt.Errorf("afxdp: max addresses %d out of range [1, %d]", c.maxAddrs, 1<<16)
	case len(c.addrs) > c.maxAddrs:
		return fmt.Errorf("afxdp: %d addresses, more than the %d allowed (WithMaxAddrs)", len(c.addrs), c.maxAddrs)
	}
	for _, p := range c.ports {
		if p.proto != TCP && p.proto != UDP {
			return fmt.Errorf("afxdp: port rule for protocol %d: only TCP and UDP have ports", p.proto)
		}
	}
	if len(c.ports) > prog.DefaultMaxPorts {
		return fmt.Errorf("afxdp: %d port rules, more than the %d allowed", len(c.ports), prog.DefaultMaxPorts)
	}
	for _, a := range c.addrs {
		if !a.Is4() {
			return fmt.Errorf("afxdp: steered address %s is not IPv4", a)
		}
	}
	return nil
}
