package ip

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Config configures a Host. Zero fields take the documented defaults;
// New rejects values that cannot work.
type Config struct {
	// Addr is the host's IPv4 address with the length of its connected
	// prefix, for example 10.0.0.2/24. Required. It must be a unicast
	// address that is neither the prefix's network nor its broadcast
	// address (a /31 has neither, RFC 3021).
	Addr netip.Prefix
	// Gateway is the default router, or the zero Addr for none (then only
	// on-link destinations and Routes are reachable). It must be on-link:
	// inside Addr's prefix.
	Gateway netip.Addr
	// Routes are extra static routes, each through an on-link gateway.
	// Lookup is longest prefix first; the connected prefix wins over a
	// route of equal length. At most MaxRoutes.
	Routes []Route
	// MAC is the interface's Ethernet address. Required: a non-zero
	// unicast address.
	MAC [6]byte
	// MTU is the largest IPv4 packet sent without fragmenting. Default
	// 1500; range [68, 65535] (68 is RFC 791's minimum every host must
	// accept).
	MTU int
	// TTL is the time to live of packets the host originates. Default 64
	// (Linux's ip_default_ttl).
	TTL uint8
	// IDSeed is the first IPv4 Identification value used; the counter
	// increments per datagram. Fixed by default (0) so runs are
	// reproducible; set it from a random source where predictable IDs
	// matter.
	IDSeed uint16
	// MinPMTU is the smallest path MTU "fragmentation needed" errors may
	// set. Default 552 (Linux min_pmtu); range [68, MTU].
	MinPMTU int
	// PMTUExpires is how long a learnt path MTU is used before the
	// interface MTU is tried again. Default 10 minutes (Linux
	// mtu_expires).
	PMTUExpires time.Duration
	// Neigh configures ARP and the neighbour cache.
	Neigh NeighConfig
	// Frag configures fragment reassembly.
	Frag FragConfig
	// ICMP configures which ICMP messages are sent and how often.
	ICMP ICMPConfig
}

// MaxRoutes bounds Config.Routes.
const MaxRoutes = 64

// Route sends traffic for Prefix through Gateway.
type Route struct {
	Prefix  netip.Prefix
	Gateway netip.Addr
}

// NeighConfig configures the neighbour cache. The state machine follows
// RFC 4861 section 7.3.2 (as Linux applies it to ARP): INCOMPLETE,
// REACHABLE, STALE, DELAY, PROBE, FAILED.
type NeighConfig struct {
	// CacheSize is the most neighbours held at once. Default 256, range
	// [1, 65536]. When full, the least recently used entry that is not
	// being resolved is evicted.
	CacheSize int
	// ReachableTime is how long a confirmed neighbour stays REACHABLE.
	// Default 30s (Linux base_reachable_time; not randomised here so runs
	// are reproducible).
	ReachableTime time.Duration
	// RetransTime is the interval between ARP requests while resolving
	// or probing. Default 1s.
	RetransTime time.Duration
	// MaxProbes is how many ARP requests are sent while INCOMPLETE (and
	// how many unicast probes in PROBE) before the neighbour is declared
	// FAILED. Default 3.
	MaxProbes int
	// DelayFirstProbe is how long a STALE entry that was used waits in
	// DELAY for an upper-layer confirmation before it is probed. Default
	// 5s.
	DelayFirstProbe time.Duration
	// PendingLimit is how many packets may wait for one neighbour to be
	// resolved; when it is exceeded the oldest is dropped. Default 64,
	// enough for a 64 KiB datagram cut into 1500-byte fragments.
	PendingLimit int
	// PendingTotal bounds packets waiting for resolution over all
	// neighbours. Default 512.
	PendingTotal int
	// StaleTime is how long an entry that is not REACHABLE may go unused
	// before garbage collection removes it. Default 60s (Linux
	// gc_stale_time).
	StaleTime time.Duration
	// GCInterval is how often garbage collection runs while the cache is
	// not empty. Default 30s.
	GCInterval time.Duration
}

// FragConfig configures IPv4 reassembly (RFC 791, RFC 815).
type FragConfig struct {
	// MemLimit bounds the memory held by fragments waiting for the rest of
	// their datagram, counted as the whole buffer each fragment pins.
	// When a new fragment would exceed it, the oldest incomplete datagrams
	// are dropped to make room. Default 4 MiB (Linux ipfrag_high_thresh).
	// The reassembly pool (Buffers) must fit under it too.
	MemLimit int
	// Timeout is how long a datagram may take to be reassembled from its
	// first fragment's arrival. Default 30s (Linux ipfrag_time).
	Timeout time.Duration
	// MaxDatagrams is how many datagrams may be in reassembly at once;
	// the oldest is dropped to start a new one. Default 64, range [1, 4096].
	MaxDatagrams int
	// NoTimeExceeded suppresses the ICMP time exceeded (code 1, fragment
	// reassembly time exceeded) that is otherwise sent when a datagram
	// whose first fragment (offset 0) arrived times out (RFC 1122 3.3.2).
	NoTimeExceeded bool
	// BufSize is the data size of each buffer in the reassembly pool,
	// which receives the datagrams too large for the buffer their first
	// fragment arrived in (with 2048-byte link buffers: any datagram over
	// about 2 KB). Default 65535, IPv4's largest datagram, as Linux
	// reassembles; range [576, 65535] (576: RFC 791's minimum every host
	// must reassemble). Each buffer also has FragBufHeadroom bytes of
	// headroom in front.
	BufSize int
	// Buffers is how many buffers the reassembly pool holds: how many
	// large datagrams may be reassembled and not yet freed by their
	// transports (a UDP socket's receive queue keeps them) at once. When
	// the pool is empty a large datagram is dropped (ReasmNoBuffer).
	// The pool is allocated once, by New: Buffers × (BufSize +
	// FragBufHeadroom) bytes, about 1 MiB with the defaults, which must
	// not exceed MemLimit. Default 16, or fewer when MemLimit is smaller
	// than 16 buffers (none when it is smaller than one); negative means
	// no pool (then a datagram must fit in its first fragment's buffer,
	// else ReasmTooBig); at most 4096.
	Buffers int
}

// ICMPConfig configures the ICMP messages a Host sends.
type ICMPConfig struct {
	// ErrorRate is how many ICMP error messages may be sent per second on
	// average (a token bucket). Default 1000 (Linux icmp_msgs_per_sec);
	// negative means unlimited.
	ErrorRate int
	// ErrorBurst is the token bucket's depth. Default 50 (Linux
	// icmp_msgs_burst).
	ErrorBurst int
	// PeerInterval is the per-destination ICMP error rate: one error
	// per PeerInterval, with bursts of PeerBurst (Linux icmp_ratelimit
	// 1000 ms, burst factor 6). Default 1s; negative disables the
	// per-destination limit (the global ErrorRate still applies).
	PeerInterval time.Duration
	// PeerBurst is the per-destination burst. Default 6.
	PeerBurst int
	// NoProtoUnreachable suppresses protocol unreachable errors for
	// datagrams whose protocol has no registered Transport.
	NoProtoUnreachable bool
	// IgnoreEcho stops answering echo requests (icmp_echo_ignore_all).
	IgnoreEcho bool
	// EchoBroadcast answers echo requests sent to a broadcast address
	// (off by default, like Linux's icmp_echo_ignore_broadcasts=1).
	EchoBroadcast bool
}

// Defaults.
const (
	DefaultMTU              = 1500
	MinMTU                  = 68
	MaxMTU                  = 65535
	DefaultTTL              = 64
	DefaultMinPMTU          = 552
	DefaultPMTUExpires      = 10 * time.Minute
	DefaultCacheSize        = 256
	DefaultReachableTime    = 30 * time.Second
	DefaultRetransTime      = time.Second
	DefaultMaxProbes        = 3
	DefaultDelayFirstProbe  = 5 * time.Second
	DefaultPendingLimit     = 64
	DefaultPendingTotal     = 512
	DefaultStaleTime        = 60 * time.Second
	DefaultGCInterval       = 30 * time.Second
	DefaultFragMemLimit     = 4 << 20
	DefaultFragTimeout      = 30 * time.Second
	DefaultFragMaxDatagrams = 64
	DefaultFragBufSize      = 65535
	DefaultFragBuffers      = 16
	MinFragBufSize          = 576
	DefaultICMPErrorRate    = 1000
	DefaultICMPErrorBurst   = 50
	DefaultICMPPeerInterval = time.Second
	DefaultICMPPeerBurst    = 6
)

// FragBufHeadroom is the headroom of each reassembly pool buffer, in front
// of the datagram's IPv4 header (link.PoolConfig's default): room for the
// headers an echo reply or a transport prepends when it answers in place.
const FragBufHeadroom = 128

// ErrConfig is wrapped by every error New returns for a bad Config.
var ErrConfig = errors.New("ip: invalid config")

func cfgErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

func (c Config) withDefaults() Config {
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	setInt(&c.MinPMTU, min(DefaultMinPMTU, c.MTU))
	setDur(&c.PMTUExpires, DefaultPMTUExpires)
	n := &c.Neigh
	setInt(&n.CacheSize, DefaultCacheSize)
	setDur(&n.ReachableTime, DefaultReachableTime)
	setDur(&n.RetransTime, DefaultRetransTime)
	setInt(&n.MaxProbes, DefaultMaxProbes)
	setDur(&n.DelayFirstProbe, DefaultDelayFirstProbe)
	setInt(&n.PendingLimit, DefaultPendingLimit)
	setInt(&n.PendingTotal, DefaultPendingTotal)
	setDur(&n.StaleTime, DefaultStaleTime)
	setDur(&n.GCInterval, DefaultGCInterval)
	f := &c.Frag
	setInt(&f.MemLimit, DefaultFragMemLimit)
	setDur(&f.Timeout, DefaultFragTimeout)
	setInt(&f.MaxDatagrams, DefaultFragMaxDatagrams)
	setInt(&f.BufSize, DefaultFragBufSize)
	if f.Buffers == 0 && f.BufSize > 0 {
		// As many as MemLimit allows, up to the default; none when not one.
		f.Buffers = min(DefaultFragBuffers, f.MemLimit/(f.BufSize+FragBufHeadroom))
		if f.Buffers == 0 {
			f.Buffers = -1
		}
	}
	setInt(&c.ICMP.ErrorRate, DefaultICMPErrorRate)
	setInt(&c.ICMP.ErrorBurst, DefaultICMPErrorBurst)
	setDur(&c.ICMP.PeerInterval, DefaultICMPPeerInterval)
	setInt(&c.ICMP.PeerBurst, DefaultICMPPeerBurst)
	return c
}

func setInt(p *int, d int) {
	if *p == 0 {
		*p = d
	}
}

func setDur(p *time.Duration, d time.Duration) {
	if *p == 0 {
		*p = d
	}
}

// validate checks a Config that already has its defaults applied.
func (c *Config) validate() error {
	if !c.Addr.IsValid() {
		return cfgErr("Addr is required")
	}
	a := c.Addr.Addr()
	if !a.Is4() {
		return cfgErr("Addr %v is not IPv4", c.Addr)
	}
	bits := c.Addr.Bits()
	if bits < 1 {
		return cfgErr("Addr %v: prefix length must be 1..32", c.Addr)
	}
	if !isUnicast(a) {
		return cfgErr("Addr %v is not a unicast address", a)
	}
	if bits <= 30 {
		v, net := a4(a), a4(c.Addr.Masked().Addr())
		if v == net {
			return cfgErr("Addr %v is its prefix's network address", c.Addr)
		}
		if v == net|^maskOf(bits) {
			return cfgErr("Addr %v is its prefix's broadcast address", c.Addr)
		}
	}
	if c.MAC == ([6]byte{}) || c.MAC[0]&1 != 0 {
		return cfgErr("MAC %x must be a non-zero unicast address", c.MAC)
	}
	if c.MTU < MinMTU || c.MTU > MaxMTU {
		return cfgErr("MTU %d out of range [%d, %d]", c.MTU, MinMTU, MaxMTU)
	}
	if c.MinPMTU < MinMTU || c.MinPMTU > c.MTU {
		return cfgErr("MinPMTU %d out of range [%d, MTU %d]", c.MinPMTU, MinMTU, c.MTU)
	}
	if c.PMTUExpires < 0 {
		return cfgErr("PMTUExpires %v is negative", c.PMTUExpires)
	}
	if c.Gateway.IsValid() {
		if err := c.checkGateway("Gateway", c.Gateway); err != nil {
			return err
		}
	}
	if len(c.Routes) > MaxRoutes {
		return cfgErr("%d Routes, at most %d", len(c.Routes), MaxRoutes)
	}
	for i, r := range c.Routes {
		if !r.Prefix.IsValid() || !r.Prefix.Addr().Is4() {
			return cfgErr("Routes[%d]: prefix %v is not IPv4", i, r.Prefix)
		}
		if r.Prefix.Masked() != r.Prefix {
			return cfgErr("Routes[%d]: prefix %v has host bits set", i, r.Prefix)
		}
		if err := c.checkGateway(fmt.Sprintf("Routes[%d] gateway", i), r.Gateway); err != nil {
			return err
		}
	}
	n := &c.Neigh
	switch {
	case n.CacheSize < 1 || n.CacheSize > 65536:
		return cfgErr("Neigh.CacheSize %d out of range [1, 65536]", n.CacheSize)
	case n.ReachableTime < 0 || n.RetransTime < 0 || n.DelayFirstProbe < 0 ||
		n.StaleTime < 0 || n.GCInterval < 0:
		return cfgErr("Neigh: durations must not be negative")
	case n.MaxProbes < 1 || n.MaxProbes > 255:
		return cfgErr("Neigh.MaxProbes %d out of range [1, 255]", n.MaxProbes)
	case n.PendingLimit < 1 || n.PendingTotal < 1:
		return cfgErr("Neigh.PendingLimit %d and PendingTotal %d must be positive", n.PendingLimit, n.PendingTotal)
	}
	f := &c.Frag
	switch {
	case f.MemLimit < 0:
		return cfgErr("Frag.MemLimit %d is negative", f.MemLimit)
	case f.Timeout < 0:
		return cfgErr("Frag.Timeout %v is negative", f.Timeout)
	case f.MaxDatagrams < 1 || f.MaxDatagrams > 4096:
		return cfgErr("Frag.MaxDatagrams %d out of range [1, 4096]", f.MaxDatagrams)
	case f.BufSize < MinFragBufSize || f.BufSize > MaxMTU:
		return cfgErr("Frag.BufSize %d out of range [%d, %d]", f.BufSize, MinFragBufSize, MaxMTU)
	case f.Buffers > 4096:
		return cfgErr("Frag.Buffers %d out of range (at most 4096)", f.Buffers)
	case f.Buffers > 0 && f.Buffers*(f.BufSize+FragBufHeadroom) > f.MemLimit:
		return cfgErr("Frag.Buffers %d × (BufSize %d + %d) bytes exceeds Frag.MemLimit %d",
			f.Buffers, f.BufSize, FragBufHeadroom, f.MemLimit)
	}
	if c.ICMP.ErrorBurst < 1 {
		return cfgErr("ICMP.ErrorBurst %d must be positive", c.ICMP.ErrorBurst)
	}
	if c.ICMP.PeerBurst < 1 || c.ICMP.PeerBurst > 1<<20 {
		return cfgErr("ICMP.PeerBurst %d out of range [1, %d]", c.ICMP.PeerBurst, 1<<20)
	}
	return nil
}

// checkGateway: gw must be a usable unicast address on the connected prefix
// other than our own.
func (c *Config) checkGateway(what string, gw netip.Addr) error {
	if !gw.IsValid() || !gw.Is4() {
		return cfgErr("%s %v is not IPv4", what, gw)
	}
	if !c.Addr.Contains(gw) {
		return cfgErr("%s %v is not on-link (outside %v)", what, gw, c.Addr.Masked())
	}
	if gw == c.Addr.Addr() {
		return cfgErr("%s %v is the host's own address", what, gw)
	}
	if !isUnicast(gw) {
		return cfgErr("%s %v is not unicast", what, gw)
	}
	if bits := c.Addr.Bits(); bits <= 30 {
		v, net := a4(gw), a4(c.Addr.Masked().Addr())
		if v == net || v == net|^maskOf(bits) {
			return cfgErr("%s %v is the prefix's network or broadcast address", what, gw)
		}
	}
	return nil
}

// isUnicast reports whether a (IPv4) may be a host's address: not
// unspecified, loopback, multicast, limited broadcast or class E.
func isUnicast(a netip.Addr) bool {
	v := a4(a)
	return v != 0 && v>>24 != 127 && v>>28 < 0xe
}
