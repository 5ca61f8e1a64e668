package afpacket

import (
	"time"

	"github.com/ustack/ustack/link"
)

// Defaults and limits.
const (
	// DefaultFrames is the number of slots in each ring.
	DefaultFrames = 512
	// MaxFrames bounds WithRing.
	MaxFrames = 1 << 16
	// MaxFrameSize bounds the slot size (WithFrameSize).
	MaxFrameSize = 1 << 17
	// DefaultBlockTimeout is the TPACKET_V3 block retire timeout.
	DefaultBlockTimeout = time.Millisecond
)

// An Option configures Open.
type Option func(*config)

type config struct {
	rxFrames, txFrames int
	frameSize          int
	qdiscBypass        bool
	vnetHdr            bool
	fanout             bool
	fanoutGroup        uint16
	v3                 bool
	blockTimeout       time.Duration
	promisc            bool
	mac                [6]byte
	macSet             bool
	mtu                int
	pool               link.PoolConfig
}

// WithRing sets how many frame slots the RX and TX rings have: powers of
// two in [8, 65536], default 512 each.
func WithRing(rx, tx int) Option { return func(c *config) { c.rxFrames, c.txFrames = rx, tx } }

// WithFrameSize sets the size of one ring slot, a power of two in
// [2048, 131072]. Default: the smallest power of two that holds an
// MTU-sized frame with the ring headers (2048 for MTU 1500). Raise it
// with WithVnetHdr to move GSO/GRO frames larger than the MTU.
func WithFrameSize(n int) Option { return func(c *config) { c.frameSize = n } }

// WithQdiscBypass sets PACKET_QDISC_BYPASS: frames go straight to the
// driver's transmit queue, skipping qdiscs (and tc, and packet taps).
func WithQdiscBypass() Option { return func(c *config) { c.qdiscBypass = true } }

// WithVnetHdr sets PACKET_VNET_HDR: every frame in both rings carries a
// virtio-net header (see package link/tap/vnet), which lets the link
// report and request checksum offload and GSO.
func WithVnetHdr() Option { return func(c *config) { c.vnetHdr = true } }

// WithFanout joins PACKET_FANOUT group id in hash mode, so the
// interface's traffic is spread by flow over every socket in the group:
// open one link per shard with the same id. PACKET_FANOUT_FLAG_DEFRAG is
// not set: it would hand over reassembled datagrams larger than a ring
// slot. IP fragments carry no ports, so the kernel hashes every fragment
// of a datagram by addresses alone and they all reach the same socket.
func WithFanout(id uint16) Option {
	return func(c *config) { c.fanout, c.fanoutGroup = true, id }
}

// WithV3 uses TPACKET_V3 for receive, with the given block retire timeout
// (rounded up to milliseconds; 0 means DefaultBlockTimeout). Frames that
// arrive on a quiet link are seen only when their block retires: up to
// the timeout later. See the package documentation.
func WithV3(blockTimeout time.Duration) Option {
	return func(c *config) { c.v3, c.blockTimeout = true, blockTimeout }
}

// WithPromisc puts the interface in promiscuous mode for as long as the
// link is open (PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC).
func WithPromisc() Option { return func(c *config) { c.promisc = true } }

// WithHardwareAddr makes the link use mac instead of the interface's MAC;
// it implies WithPromisc.
func WithHardwareAddr(mac [6]byte) Option {
	return func(c *config) { c.mac, c.macSet, c.promisc = mac, true, true }
}

// WithMTU overrides the MTU read from the interface; it may only lower it.
func WithMTU(n int) Option { return func(c *config) { c.mtu = n } }

// WithPool configures the buffer pool Recv fills and Send's callers use.
// A zero Size is made large enough for the largest frame.
func WithPool(cfg link.PoolConfig) Option { return func(c *config) { c.pool = cfg } }
