package shard

import (
	"errors"
	"fmt"
	"time"

	"github.com/ustack/ustack/link"
)

// Clock is a monotonic time source: time since an arbitrary epoch.
type Clock interface{ Now() time.Duration }

type monoClock struct{ start time.Time }

func (c monoClock) Now() time.Duration { return time.Since(c.start) }

// NewMonoClock returns a Clock reading the runtime's monotonic clock
// relative to the moment it was made (one vDSO read per call).
func NewMonoClock() Clock { return monoClock{start: time.Now()} }

// Handler is the protocol stack behind a shard.
type Handler interface {
	// Input is one received frame; the handler owns b (frees or keeps it).
	Input(now time.Duration, b *link.Buf, tx *TX)
	// EndBurst runs once per loop iteration after input, inbox tasks and
	// timers; deferred output (coalesced ACKs, reader wake-ups) goes here.
	EndBurst(now time.Duration, tx *TX)
}

// Config configures a Shard. Zero fields take the documented defaults.
type Config struct {
	// Link is the frame path the shard owns. Required.
	Link link.Link
	// Handler receives frames and end-of-burst calls. Required.
	Handler Handler
	// Clock is read once per loop iteration by Run (Step takes now from
	// its caller). Default NewMonoClock().
	Clock Clock
	// Mode is Run's polling mode. Default Adaptive.
	Mode Mode
	// Burst is the most frames taken from the link per iteration and the
	// TX batch size. Default 32, at most 4096.
	Burst int
	// SpinTime is how long Adaptive mode keeps polling after the loop went
	// idle before it parks. Default 50µs, at most 1s.
	SpinTime time.Duration
	// InboxSize bounds the Submit queue (rounded up to a power of two).
	// It is also the most tasks run per iteration. Default 1024, at most 1<<20.
	InboxSize int
	// Tick is the timer wheel's resolution. Default 1ms, at least 1µs.
	Tick time.Duration
	// TxRetries is how many times (once per following iteration) a refused
	// TX remainder is retried without any progress before it may be freed
	// and counted as dropped; TxHoldTime must also have passed. Default 8.
	TxRetries int
	// TxHoldTime is how long refused TX frames are held without progress
	// before they are dropped. A peer that is merely slow (a descheduled
	// shard on the other end of link/mem, a busy NIC ring) must not cost
	// frames; only a link that stays stuck does. Default 100ms.
	TxHoldTime time.Duration
	// TxQueueLen bounds the frames waiting for the link, like a qdisc's
	// txqueuelen: beyond it new frames are dropped. Frames go to the link
	// every Burst frames and at the end of each iteration. Default 1024,
	// at least Burst.
	TxQueueLen int
	// TxRetryDelay is how soon a shard with refused TX frames wants to run
	// again: Step returns at most now+TxRetryDelay and Run parks no longer
	// than that. Default 10µs.
	TxRetryDelay time.Duration
	// PollInterval is the longest a parked shard sleeps on a link that
	// can signal neither through link.Waiter nor a file descriptor.
	// Default 100µs.
	PollInterval time.Duration
}

// Defaults.
const (
	DefaultBurst        = 32
	DefaultSpinTime     = 50 * time.Microsecond
	DefaultInboxSize    = 1024
	DefaultTxRetries    = 8
	DefaultTxRetryDelay = 10 * time.Microsecond
	DefaultTxHoldTime   = 100 * time.Millisecond
	DefaultTxQueueLen   = 1024
	DefaultPollInterval = 100 * time.Microsecond
)

// ErrConfig is wrapped by every configuration error New returns.
var ErrConfig = errors.New("shard: invalid config")

func (c Config) withDefaults() (Config, error) {
	bad := func(format string, a ...any) (Config, error) {
		return c, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	switch {
	case c.Link == nil:
		return bad("Link is nil")
	case c.Handler == nil:
		return bad("Handler is nil")
	case c.Link.Pool() == nil:
		return bad("Link.Pool() is nil")
	case c.Mode > Interrupt:
		return bad("unknown Mode %d", c.Mode)
	case c.Burst < 0 || c.Burst > 4096:
		return bad("Burst %d out of range [1, 4096]", c.Burst)
	case c.SpinTime < 0 || c.SpinTime > time.Second:
		return bad("SpinTime %v out of range [0, 1s]", c.SpinTime)
	case c.InboxSize < 0 || c.InboxSize > 1<<20:
		return bad("InboxSize %d out of range [1, %d]", c.InboxSize, 1<<20)
	case c.Tick < 0 || (c.Tick > 0 && c.Tick < time.Microsecond):
		return bad("Tick %v below 1µs", c.Tick)
	case c.TxRetries < 0:
		return bad("TxRetries %d negative", c.TxRetries)
	case c.TxHoldTime < 0:
		return bad("TxHoldTime %v negative", c.TxHoldTime)
	case c.TxQueueLen < 0:
		return bad("TxQueueLen %d negative", c.TxQueueLen)
	case c.TxRetryDelay < 0:
		return bad("TxRetryDelay %v negative", c.TxRetryDelay)
	case c.PollInterval < 0:
		return bad("PollInterval %v negative", c.PollInterval)
	}
	if c.Clock == nil {
		c.Clock = NewMonoClock()
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	if c.TxQueueLen != 0 && c.TxQueueLen < c.Burst {
		return bad("TxQueueLen %d below Burst %d", c.TxQueueLen, c.Burst)
	}
	if c.SpinTime == 0 {
		c.SpinTime = DefaultSpinTime
	}
	if c.InboxSize == 0 {
		c.InboxSize = DefaultInboxSize
	}
	if c.Tick == 0 {
		c.Tick = DefaultTick
	}
	if c.TxRetries == 0 {
		c.TxRetries = DefaultTxRetries
	}
	if c.TxHoldTime == 0 {
		c.TxHoldTime = DefaultTxHoldTime
	}
	if c.TxQueueLen == 0 {
		c.TxQueueLen = max(DefaultTxQueueLen, c.Burst)
	}
	if c.TxRetryDelay == 0 {
		c.TxRetryDelay = DefaultTxRetryDelay
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	return c, nil
}
