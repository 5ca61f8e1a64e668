package ustack

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/ustack/ustack/ip"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/shard"
	"github.com/ustack/ustack/tcp"
)

// DefaultMaxTimeWait is Config.MaxTimeWait's default.
const DefaultMaxTimeWait = 262144

// ErrConfig is wrapped by every error New returns for an invalid Config.
var ErrConfig = errors.New("ustack: invalid config")

// Config configures a Stack. Link and Addr are required; every other field
// has a documented default taken when it is left zero.
type Config struct {
	// Link is the frame path the stack runs on. Required. The stack owns it
	// from New on and closes it in Close.
	Link link.Link

	// Queues are more queues of the same device, one more shard each:
	// shard 0 runs on Link, shard i on Queues[i-1] (link/mem Queues,
	// TAP multi-queue, AF_XDP queues, AF_PACKET fanout members). Each
	// shard owns its connections, timers and pool; TCP connections
	// belong to the shard link.SteerQueue gives their 4-tuple, all else
	// to shard 0. Frames arriving on another shard's queue are handed to
	// their owner in software (ShardHandoff), and an active open picks
	// its source port so that the reply hashes to the dialing shard.
	// Listeners listen on every shard. All queues must have the same
	// hardware address. RFC 5961's challenge-ACK budget
	// (TCP.ChallengeACKLimit) is divided among the shards. Empty: one
	// shard. Not with Manual.
	Queues []link.Link

	// ShardHandoff bounds the frames waiting to be handed from one shard
	// to another (per receiving shard); beyond it they are dropped and
	// counted (TCPStats.HandoffDrops). Default 4096, at most 1<<20.
	ShardHandoff int

	// Addr is the stack's IPv4 address and the length of its connected
	// prefix, for example 10.0.0.1/24. Required.
	Addr netip.Prefix

	// Gateway is the default router for destinations off the connected
	// prefix; the zero value means none (only on-link hosts are reachable).
	Gateway netip.Addr

	// Polling is how the shard waits for work: shard.Adaptive (default)
	// spins for SpinTime and then parks in the Go scheduler, shard.Busy
	// never sleeps (one core per shard), shard.Interrupt parks at once.
	Polling shard.Mode

	// SpinTime is how long an adaptive shard spins when idle before it
	// parks. Default shard.DefaultSpinTime.
	SpinTime time.Duration

	// BusyPoll is how long a socket call that must wait for the network
	// (a Read with no data, a Write with no send space) runs the shard's
	// loop itself, polling the link, before it sleeps until the shard
	// goroutine wakes it — Linux's SO_BUSY_POLL, in the caller. Every
	// socket call that needs the shard (Dial, Accept, Close, a Read with
	// data waiting) runs inline this way when the loop is free, rather
	// than handing a request to the shard goroutine and waiting for it.
	// Default: SpinTime in Adaptive and Busy mode, 0 (run inline, never
	// spin) in Interrupt mode; negative: never run the loop outside the
	// shard goroutine. Only on links that can wake a sleeping shard:
	// link.Waiter (link/mem) or a file descriptor (TAP, AF_PACKET,
	// AF_XDP).
	BusyPoll time.Duration

	// Burst is the most frames moved per link call. Default shard.DefaultBurst.
	Burst int

	// IP tunes the IPv4 layer (TTL, MTU clamp, neighbour cache, fragment
	// reassembly, ICMP rate limits). Its Addr, Gateway and MAC are filled
	// from the fields above and the link; setting them here is an error.
	IP ip.Config

	// TCP tunes the TCP engine. Zero fields take the Linux defaults of
	// tcp.Linux() (see LINUX-WIRE.md); its MTU is clamped to the link's.
	TCP tcp.Config

	// DisableGSO turns off TCP segmentation offload. By default, on a
	// link that implements link.GSO with transmit buffers larger than one
	// MTU-sized frame (link/mem WithGSO, link/tap WithOffload(true)), the
	// engine hands runs of full segments to the link as one super-segment
	// of up to 64 KiB (TCP.GSOMaxSize, set from the link: a non-zero
	// value there can only lower it). Segments on the wire are the same.
	DisableGSO bool

	// DisableGRO turns off receive coalescing: by default in-order data
	// segments of one connection received in one burst are processed as a
	// run and acknowledged once, as Linux acknowledges a GRO aggregate.
	DisableGRO bool

	// MaxTimeWait bounds the connections kept in TIME-WAIT; past it a
	// closing connection is forgotten at once (Linux tcp_max_tw_buckets).
	// Default 262144.
	MaxTimeWait int

	// Rand is where the stack's secrets come from: the keys of RFC 6528
	// initial sequence numbers, RFC 6056 port selection and SYN cookies.
	// Default crypto/rand. A simulation passes a seeded source so that a
	// run is reproducible bit for bit; never do that on a real network.
	Rand io.Reader

	// Clock is the stack's time source. Default: the monotonic clock. The
	// simulator passes its virtual clock.
	Clock shard.Clock

	// UDPRecvBuffer bounds what may wait on one UDP socket's receive
	// queue, in bytes of frame-buffer memory (each datagram is charged
	// the whole buffer it arrived in, as Linux charges skb truesize).
	// Datagrams beyond it are dropped and counted as RcvbufErrors.
	// Default 212992 (Linux rmem_default), range [1, 1<<30].
	UDPRecvBuffer int

	// UDPLargeBuffers is how many 64 KiB buffers the stack keeps for
	// sending UDP datagrams too large for one link buffer (the IP layer
	// fragments them to the MTU). Writers share them; a write that finds
	// none free fails with ENOBUFS. Default 4; -1 for none, which limits
	// datagrams to one link buffer (EMSGSIZE beyond). At most 1024.
	UDPLargeBuffers int

	// Manual, when true, starts no goroutine: the caller drives the stack
	// one loop iteration at a time with Step (the simulator does this).
	Manual bool
}

func (c *Config) validate() error {
	if c.Link == nil {
		return fmt.Errorf("%w: Link is required (for example the first link of mem.Pair())", ErrConfig)
	}
	if !c.Addr.IsValid() {
		return fmt.Errorf("%w: Addr is required (an IPv4 address with prefix length, such as 10.0.0.1/24)", ErrConfig)
	}
	if !c.Addr.Addr().Is4() {
		return fmt.Errorf("%w: Addr %s is not IPv4 (IPv6 is not supported yet)", ErrConfig, c.Addr)
	}
	if c.Gateway.IsValid() && !c.Addr.Masked().Contains(c.Gateway) {
		return fmt.Errorf("%w: Gateway %s is not inside %s", ErrConfig, c.Gateway, c.Addr.Masked())
	}
	if c.IP.Addr.IsValid() || c.IP.Gateway.IsValid() || c.IP.MAC != ([6]byte{}) {
		return fmt.Errorf("%w: set Addr and Gateway on Config itself, not in Config.IP (its MAC comes from the link)", ErrConfig)
	}
	if len(c.Queues) > 0 {
		if c.Manual {
			return fmt.Errorf("%w: Queues (more than one shard) cannot be used with Manual", ErrConfig)
		}
		if c.TCP.ChallengeACKLimiter != nil {
			return fmt.Errorf("%w: TCP.ChallengeACKLimiter cannot be shared by the shards of a stack with Queues (each shard gets its share of TCP.ChallengeACKLimit)", ErrConfig)
		}
		if len(c.Queues) > 255 {
			return fmt.Errorf("%w: %d Queues: at most 255 (256 shards)", ErrConfig, len(c.Queues))
		}
		for i, q := range c.Queues {
			if q == nil {
				return fmt.Errorf("%w: Queues[%d] is nil", ErrConfig, i)
			}
			if q == c.Link {
				return fmt.Errorf("%w: Queues[%d] is Link itself", ErrConfig, i)
			}
			if q.HardwareAddr() != c.Link.HardwareAddr() {
				return fmt.Errorf("%w: Queues[%d] has hardware address %x, Link %x: queues must be of one device", ErrConfig, i, q.HardwareAddr(), c.Link.HardwareAddr())
			}
			for _, o := range c.Queues[:i] {
				if o == q {
					return fmt.Errorf("%w: Queues[%d] given twice", ErrConfig, i)
				}
			}
		}
	}
	if c.ShardHandoff < 0 || c.ShardHandoff > 1<<20 {
		return fmt.Errorf("%w: ShardHandoff %d out of range [0, %d]", ErrConfig, c.ShardHandoff, 1<<20)
	}
	if c.ShardHandoff == 0 {
		c.ShardHandoff = DefaultShardHandoff
	}
	if c.UDPLargeBuffers < -1 || c.UDPLargeBuffers > 1024 {
		return fmt.Errorf("%w: UDPLargeBuffers %d out of range [-1, 1024]", ErrConfig, c.UDPLargeBuffers)
	}
	if c.MaxTimeWait < 0 {
		return fmt.Errorf("%w: MaxTimeWait must not be negative", ErrConfig)
	}
	if c.SpinTime < 0 || c.Burst < 0 {
		return fmt.Errorf("%w: SpinTime and Burst must not be negative", ErrConfig)
	}
	if err := c.validateUDP(); err != nil {
		return err
	}
	return nil
}
