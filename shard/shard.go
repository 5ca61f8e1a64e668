package shard

import (
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ustack/ustack/link"
)

// ErrRunning is returned by Run when the shard is already running.
var ErrRunning = errors.New("shard: already running")

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("shard: closed")

// Stats are a shard's counters since New. Snapshots may be taken from any
// goroutine. Iterations and IdleIterations are published every 64
// iterations, before parking, after each Step and when Run returns, so a
// snapshot of a running shard may lag by up to 63 of them; the other
// counters are exact.
type Stats struct {
	Iterations     uint64 // loop iterations (Run and Step)
	IdleIterations uint64 // iterations that received, ran, fired and sent nothing
	Parks          uint64 // times Run blocked waiting for work
	Wakeups        uint64 // parks ended by a frame, a task or a timer (not shutdown)
	RxFrames       uint64 // frames received from the link and passed to Input
	TxFrames       uint64 // frames the link accepted
	TxRetries      uint64 // frames the link refused and that stayed queued (once per refusal)
	TxDrops        uint64 // frames freed unsent: retry bound hit, or batch full
	TasksRun       uint64 // inbox tasks run
	TimersFired    uint64 // wheel timers fired
	// Naps counts sleeps of Run, while the loop was borrowed, that its
	// nap ended (not a frame, a task or a timer) and after which it
	// found work: frames that came after a ReturnSoon gave the loop
	// back, or a wake-up lost after a Return (borrow.go).
	Naps uint64
	// Yields counts the times a spinning Run gave its processor to other
	// goroutines (runtime.Gosched): after an iteration that called
	// TX.Woke, and periodically while it polls (run.go, yielder).
	Yields uint64
}

type counters struct {
	iterations, idle, parks, wakeups, rx, tx, txRetries, txDrops, tasks, timers, naps, yields atomic.Uint64
}

// Shard is one event loop; see the package documentation. All methods
// except Submit, Stats and Close belong to the goroutine driving the shard
// (the one in Run, or the simulator calling Step); Run and Step must not
// be used at the same time.
type Shard struct {
	cfg    Config
	link   link.Link
	h      Handler
	clock  Clock
	waiter link.Waiter
	peek   rxPeeker // nil when the link has no RxPending
	wheel  *Wheel
	tx     TX
	rx     []*link.Buf
	in     inbox
	more   bool // the last iteration left work behind

	// published TX counters
	pubSent, pubRetried, pubDropped uint64
	// iteration counters, published in batches (publishIters)
	iters, idleIters uint64

	// The loop's token (borrow.go): 1 while Run's iteration or a
	// borrower holds it. wanted counts borrowers waiting for it, borrows
	// every borrow (Run parks only if none began since it decided to).
	owner atomic.Int32
	lost  atomic.Bool // Run spent a link wake-up on a borrowed loop (borrow.go)
	// lastLink: Run's last park ended with the link's wake-up (Run only).
	lastLink bool
	wanted   atomic.Int32
	borrows  atomic.Uint64

	sleeping  atomic.Bool // need-wakeup flag for Submit
	inboxWake chan struct{}
	linkWake  chan struct{}
	closeCh   chan struct{}
	closeOnce sync.Once
	closed    atomic.Bool
	running   atomic.Bool
	timer     *time.Timer
	// nap bounds Run's sleep while the loop is borrowed (parkBorrowed);
	// only Run touches it.
	nap *time.Timer
	// napped: Run's last sleep was ended by nap (Run only; napEnded).
	napped bool
	// napFor is how long Run's next borrowed sleep may last: the grace
	// of the last ReturnSoon, or borrowedNap after a Return.
	napFor   atomic.Int64
	timerAt  time.Duration // the deadline timer is armed for (token holder)
	timerSet bool          // timer was armed (it has fired if timerAt has passed)
	// byield paces the yields of borrowers that poll (Idle); it belongs
	// to the token holder.
	byield yielder
	// fdw is the link's waiter while Run runs, for a link with a file
	// descriptor and no link.Waiter (linkWaiter).
	fdw atomic.Pointer[fdWaiter]

	st counters
}

// New validates cfg, fills in defaults and returns a stopped shard.
func New(cfg Config) (*Shard, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Shard{
		cfg:       cfg,
		link:      cfg.Link,
		h:         cfg.Handler,
		clock:     cfg.Clock,
		wheel:     NewWheel(cfg.Tick),
		rx:        make([]*link.Buf, cfg.Burst),
		inboxWake: make(chan struct{}, 1),
		linkWake:  make(chan struct{}, 1),
		closeCh:   make(chan struct{}),
		timer:     time.NewTimer(time.Hour),
		nap:       time.NewTimer(time.Hour),
	}
	s.timer.Stop()
	s.nap.Stop()
	s.napFor.Store(int64(borrowedNap))
	// The token is taken while Run is not running (Run frees it once it
	// runs): a borrower that sees running set before Run has freed the
	// token must find it taken, not have its borrow cancelled by Run.
	s.owner.Store(1)
	s.waiter, _ = cfg.Link.(link.Waiter)
	s.peek, _ = cfg.Link.(rxPeeker)
	s.tx.init(cfg.Link, cfg.Burst, cfg.TxQueueLen, cfg.TxRetries, cfg.TxHoldTime)
	s.in.init(cfg.InboxSize)
	s.byield = newYielder(s)
	return s, nil
}

// Config is the shard's configuration with defaults filled in.
func (s *Shard) Config() Config { return s.cfg }

// Wheel is the shard's timer wheel (use it from the shard only).
func (s *Shard) Wheel() *Wheel { return s.wheel }

// TX is the shard's transmit batch (use it from the shard only).
func (s *Shard) TX() *TX { return &s.tx }

// Submit queues t to run on the shard and wakes the shard if it is
// parked. It is safe from any goroutine, never blocks and does not
// allocate; it reports false, dropping nothing, when the inbox is full.
// A busy shard costs the caller one CAS and one atomic load: the channel
// send happens only when the shard announced it is parking.
func (s *Shard) Submit(t Task) bool {
	if t == nil || !s.in.push(t) {
		return false
	}
	if s.sleeping.Load() && s.sleeping.CompareAndSwap(true, false) {
		select {
		case s.inboxWake <- struct{}{}:
		default:
		}
	}
	return true
}

// Close makes Run return (with ErrClosed) and wakes it if parked. It does
// not close the link, which the caller owns. Safe from any goroutine.
func (s *Shard) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.closeCh)
	})
	return nil
}

// linkWaiter is what arms the link for Run: the link's own link.Waiter
// or, for a link with only a file descriptor, Run's fdWaiter (nil when Run
// is not running). Nil when neither: Run then polls every PollInterval
// and nothing borrows the loop.
func (s *Shard) linkWaiter() link.Waiter {
	if s.waiter != nil {
		return s.waiter
	}
	if w := s.fdw.Load(); w != nil {
		return w
	}
	return nil
}

// Stats returns a snapshot of the shard's counters.
func (s *Shard) Stats() Stats {
	return Stats{
		Iterations:     s.st.iterations.Load(),
		IdleIterations: s.st.idle.Load(),
		Parks:          s.st.parks.Load(),
		Wakeups:        s.st.wakeups.Load(),
		RxFrames:       s.st.rx.Load(),
		TxFrames:       s.st.tx.Load(),
		TxRetries:      s.st.txRetries.Load(),
		TxDrops:        s.st.txDrops.Load(),
		TasksRun:       s.st.tasks.Load(),
		TimersFired:    s.st.timers.Load(),
		Naps:           s.st.naps.Load(),
		Yields:         s.st.yields.Load(),
	}
}

// Step runs exactly one loop iteration at virtual time now and returns
// when the shard next needs to run: now if received frames or inbox tasks
// are still waiting, otherwise the earliest timer (no earlier than now),
// capped at now+TxRetryDelay while refused TX frames are queued, or
// math.MaxInt64 when nothing is scheduled.
func (s *Shard) Step(now time.Duration) (next time.Duration) {
	s.iterate(now)
	s.publishIters()
	return s.next(now)
}

// publishIters makes the batched iteration counters visible to Stats.
func (s *Shard) publishIters() {
	s.st.iterations.Store(s.iters)
	s.st.idle.Store(s.idleIters)
}

func (s *Shard) next(now time.Duration) time.Duration {
	if s.more || s.in.ready() {
		return now
	}
	next := time.Duration(math.MaxInt64)
	if d, ok := s.wheel.Next(); ok {
		next = max(d, now)
	}
	if s.tx.Pending() > 0 {
		next = min(next, now+s.cfg.TxRetryDelay)
	}
	return next
}

// iterate is one loop iteration; it reports whether anything happened.
func (s *Shard) iterate(now time.Duration) bool {
	tx := &s.tx
	n := s.link.Recv(s.rx)
	n = min(max(n, 0), len(s.rx))
	for i := range n {
		b := s.rx[i]
		s.rx[i] = nil
		if b != nil {
			s.h.Input(now, b, tx)
		}
	}
	tasks := 0
	for tasks < s.cfg.InboxSize {
		t := s.in.pop()
		if t == nil {
			break
		}
		t.Run(now, tx)
		tasks++
	}
	fired := s.wheel.Advance(now, tx)
	s.h.EndBurst(now, tx)
	tx.endIteration(now)
	s.more = n == len(s.rx) || (tasks == s.cfg.InboxSize && s.in.ready())

	s.iters++
	sent := tx.sent != s.pubSent
	if n > 0 {
		s.st.rx.Add(uint64(n))
	}
	if tasks > 0 {
		s.st.tasks.Add(uint64(tasks))
	}
	if fired > 0 {
		s.st.timers.Add(uint64(fired))
	}
	if sent {
		s.st.tx.Add(tx.sent - s.pubSent)
		s.pubSent = tx.sent
	}
	if tx.retried != s.pubRetried {
		s.st.txRetries.Add(tx.retried - s.pubRetried)
		s.pubRetried = tx.retried
	}
	if tx.dropped != s.pubDropped {
		s.st.txDrops.Add(tx.dropped - s.pubDropped)
		s.pubDropped = tx.dropped
	}
	work := n > 0 || tasks > 0 || fired > 0 || sent
	if !work {
		s.idleIters++
	}
	if s.iters%checkEvery == 0 {
		s.publishIters()
	}
	return work
}

// Link is the shard's link.
func (s *Shard) Link() link.Link { return s.link }
