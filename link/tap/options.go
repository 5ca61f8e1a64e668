package tap

import "github.com/ustack/ustack/link"

// An Option configures Open.
type Option func(*config)

type config struct {
	vnetHdr    bool
	offload    bool
	gso        bool
	multiQueue bool
	mac        [6]byte
	macSet     bool
	mtu        int
	pool       link.PoolConfig
}

// WithVnetHdr sets IFF_VNET_HDR and a 10-byte header (TUNSETVNETHDRSZ).
func WithVnetHdr() Option { return func(c *config) { c.vnetHdr = true } }

// WithOffload implies WithVnetHdr and tells the kernel (TUNSETOFFLOAD)
// that the stack accepts frames with partial checksums (TUN_F_CSUM) and,
// when gso is true, TCP super-segments (TUN_F_TSO4|TUN_F_TSO6). With gso
// the pool buffers are made 64 KiB large.
func WithOffload(gso bool) Option {
	return func(c *config) { c.vnetHdr, c.offload, c.gso = true, true, gso }
}

// WithMultiQueue sets IFF_MULTI_QUEUE: the link is one queue of the
// device, and the device may have several (one per shard).
func WithMultiQueue() Option { return func(c *config) { c.multiQueue = true } }

// WithHardwareAddr sets the stack's MAC (default: random, locally
// administered, unicast).
func WithHardwareAddr(mac [6]byte) Option { return func(c *config) { c.mac, c.macSet = mac, true } }

// WithMTU sets the MTU instead of reading it from the interface
// (SIOCGIFMTU). It should match the kernel side's MTU.
func WithMTU(n int) Option { return func(c *config) { c.mtu = n } }

// WithPool configures the buffer pool. A zero Size is made large enough
// for the largest frame (with the vnet header).
func WithPool(cfg link.PoolConfig) Option { return func(c *config) { c.pool = cfg } }
