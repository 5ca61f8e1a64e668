package mem

import (
	"fmt"

	"github.com/ustack/ustack/link"
)

// Defaults for a Pair.
const (
	DefaultMTU      = 1500
	DefaultRingSize = 1024
	// MinMTU is the smallest MTU accepted: the IPv4 minimum (RFC 791).
	MinMTU = 68
	// MaxMTU is the largest MTU accepted: the largest IPv4 packet.
	MaxMTU = 65535
	// MaxRingSize bounds WithRingSize.
	MaxRingSize = 1 << 20
	// MaxGSOFrame bounds WithGSO: the largest buffer a link.Pool makes.
	MaxGSOFrame = 1 << 20
	// frameOverhead is the Ethernet header plus one 802.1Q tag, the most a
	// frame may add to an MTU-sized packet without GSO.
	frameOverhead = 14 + 4
)

// Default hardware addresses: locally administered, unicast.
var (
	DefaultMACA = [6]byte{0x02, 0, 0, 0, 0, 0x01}
	DefaultMACB = [6]byte{0x02, 0, 0, 0, 0, 0x02}
)

// An Option configures NewPair or NewQueues.
type Option func(*config)

type config struct {
	mtu      int
	ringSize int
	pool     link.PoolConfig
	macA     [6]byte
	macB     [6]byte
	gso      int                           // max frame with GSO, 0 = off
	steer    func(frame []byte, n int) int // NewQueues only; nil = link.SteerQueue
}

// newConfig applies opts over the defaults and validates the result. It
// returns the config and the largest frame Send accepts.
func newConfig(opts []Option) (config, int, error) {
	c := config{mtu: DefaultMTU, ringSize: DefaultRingSize, macA: DefaultMACA, macB: DefaultMACB}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.mtu == 0 {
		c.mtu = DefaultMTU
	}
	if c.ringSize == 0 {
		c.ringSize = DefaultRingSize
	}
	switch {
	case c.mtu < MinMTU || c.mtu > MaxMTU:
		return c, 0, fmt.Errorf("mem: MTU %d out of range [%d, %d]", c.mtu, MinMTU, MaxMTU)
	case c.ringSize < 2 || c.ringSize > MaxRingSize || c.ringSize&(c.ringSize-1) != 0:
		return c, 0, fmt.Errorf("mem: ring size %d is not a power of two in [2, %d]", c.ringSize, MaxRingSize)
	case c.gso != 0 && (c.gso < c.mtu+frameOverhead || c.gso > MaxGSOFrame):
		return c, 0, fmt.Errorf("mem: GSO max frame %d out of range [MTU+18 = %d, %d]", c.gso, c.mtu+frameOverhead, MaxGSOFrame)
	}
	maxFrame := c.mtu + frameOverhead
	if c.gso != 0 {
		maxFrame = c.gso
	}
	if c.pool.Size == 0 {
		c.pool.Size = max(2048, maxFrame)
	}
	return c, maxFrame, nil
}

// WithMTU sets the MTU of both ends (default 1500, range [68, 65535]).
// Frames up to MTU+18 bytes (Ethernet header and one VLAN tag) are
// accepted by Send.
func WithMTU(n int) Option { return func(c *config) { c.mtu = n } }

// WithRingSize sets how many frames each direction can hold in flight:
// a power of two in [2, 1<<20], default 1024. For NewQueues it sizes each
// of the n×n rings between a sending and a receiving queue.
func WithRingSize(n int) Option { return func(c *config) { c.ringSize = n } }

// WithPool configures the buffer pool; each end (each queue, for
// NewQueues) gets its own pool made from cfg. When cfg.Size is zero it is made large enough for the largest
// frame the link accepts (at least link's default of 2048).
func WithPool(cfg link.PoolConfig) Option { return func(c *config) { c.pool = cfg } }

// WithMACs sets the hardware addresses of the first and second end
// (default 02:00:00:00:00:01 and 02:00:00:00:00:02). All queues of one
// NewQueues end share that end's address.
func WithMACs(a, b [6]byte) Option { return func(c *config) { c.macA, c.macB = a, b } }

// WithGSO lets Send accept frames up to maxFrame bytes (at least MTU+18,
// at most 1<<20), as a link with TSO/GSO and GRO would: super-segments
// pass through to the peer uncut, Flags and GSOSize intact.
func WithGSO(maxFrame int) Option { return func(c *config) { c.gso = maxFrame } }

// WithSteer replaces the steering function (frame bytes, queue count) -> queue index;
// out-of-range results are taken modulo n. For tests of steering mismatch.
// It applies to NewQueues only (default link.SteerQueue); NewPair ignores it.
func WithSteer(f func(frame []byte, n int) int) Option { return func(c *config) { c.steer = f } }
