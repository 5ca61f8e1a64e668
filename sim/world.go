package sim

import (
	"math"
	"time"

	"github.com/ustack/ustack/link/impair"
)

// Host is anything the World steps: a *shard.Shard in simulator mode or a
// test double. Step does one round of work at virtual time now (reading its
// ports, sending, firing timers) and returns when it next wants to be
// stepped, or math.MaxInt64 when only a frame arrival should wake it.
type Host interface {
	Step(now time.Duration) (next time.Duration)
}

// Clock is a view of the World's virtual time; it satisfies shard.Clock.
type Clock struct{ w *World }

// Now is the World's current virtual time.
func (c Clock) Now() time.Duration { return c.w.now }

// Option configures a World.
type Option func(*World)

// WithTrace calls fn for every frame sent, dropped and delivered on every
// link (see TraceEvent). fn runs on the simulation's goroutine and must not
// keep TraceEvent.Data.
func WithTrace(fn func(ev TraceEvent)) Option {
	return func(w *World) { w.trace = fn }
}

// World is a simulated network: a virtual clock, an event queue, links and
// hosts. It is single-threaded: all its methods, and all methods of its
// Ports, must be called from one goroutine (normally from Host.Step or from
// the test driving the World).
type World struct {
	now     time.Duration
	seed    uint64
	q       eventHeap
	links   int
	ports   []*Port
	hosts   []*hostState
	dirty   []*hostState
	scratch []impair.Delivery
	trace   func(TraceEvent)
}

type hostState struct {
	h         Host
	want      time.Duration // the deadline Step last returned
	pending   bool          // a timer event for gen is queued
	pendingAt time.Duration
	gen       uint32
	dirty     bool // in World.dirty, to be stepped at this instant
}

// New makes an empty World at virtual time 0 whose randomness all derives
// from seed.
func New(seed uint64, opts ...Option) *World {
	w := &World{
		seed:    seed,
		q:       eventHeap{ev: make([]event, 0, 256)},
		scratch: make([]impair.Delivery, 0, 2),
	}
	for _, o := range opts {
		o(w)
	}
	return w
}

// Now is the current virtual time.
func (w *World) Now() time.Duration { return w.now }

// Clock returns a view of the virtual time usable as a shard.Clock.
// (*World itself also satisfies shard.Clock.)
func (w *World) Clock() Clock { return Clock{w} }

// Seed is the world seed given to New.
func (w *World) Seed() uint64 { return w.seed }

// Pending is the number of queued events (frames in flight and host
// deadlines, including superseded ones not yet discarded).
func (w *World) Pending() int { return w.q.len() }

// AddHost attaches h to ports: h is stepped whenever a frame becomes
// receivable on one of them and at the deadlines it returns. A port belongs
// to one host; attaching it again moves it. AddHost schedules a first Step
// at the current time.
//
// A host that implements Waker is given a function that schedules a Step
// at the current virtual instant: work started on it from outside a Step
// (a dial, a write, a close made by the test between RunFor calls) then
// goes out at once instead of waiting for the next frame or deadline.
func (w *World) AddHost(h Host, ports ...*Port) {
	hs := &hostState{h: h, want: w.now}
	w.hosts = append(w.hosts, hs)
	for _, p := range ports {
		p.host = hs
	}
	if wk, ok := h.(Waker); ok {
		wk.SetWake(func() {
			hs.want = w.now
			w.schedule(hs, w.now)
		})
	}
	w.schedule(hs, w.now)
}

// Waker is implemented by hosts that can have work to do that no frame or
// deadline announces; the world hands them a function to ask for a Step.
// The function must be called only from the goroutine driving the world.
type Waker interface {
	SetWake(wake func())
}

// schedule makes sure a timer event for hs is queued no later than at.
func (w *World) schedule(hs *hostState, at time.Duration) {
	if hs.pending && hs.pendingAt <= at {
		return
	}
	hs.gen++
	hs.pending = true
	hs.pendingAt = at
	w.q.push(event{at: at, kind: evTimer, host: hs, gen: hs.gen})
}

func (w *World) markDirty(hs *hostState) {
	if !hs.dirty {
		hs.dirty = true
		w.dirty = append(w.dirty, hs)
	}
}

func (w *World) step(hs *hostState) {
	next := hs.h.Step(w.now)
	hs.want = next
	if next == math.MaxInt64 {
		return
	}
	w.schedule(hs, max(next, w.now))
}

func (w *World) apply(ev *event) {
	switch ev.kind {
	case evArrive:
		ev.port.arrive(ev.buf)
	case evTimer:
		hs := ev.host
		if ev.gen != hs.gen {
			return // superseded by an earlier deadline
		}
		hs.pending = false
		switch {
		case hs.want == math.MaxInt64:
		case hs.want > w.now:
			w.schedule(hs, hs.want) // the host moved its deadline later
		default:
			w.markDirty(hs)
		}
	}
}

// advance runs the next instant at or before limit: it applies every event
// due then and steps the hosts they concern. It reports false, doing
// nothing, when no event is due by limit.
func (w *World) advance(limit time.Duration) bool {
	if w.q.len() == 0 || w.q.top().at > limit {
		return false
	}
	if t := w.q.top().at; t > w.now {
		w.now = t
	}
	for w.q.len() > 0 && w.q.top().at <= w.now {
		ev := w.q.pop()
		w.apply(&ev)
	}
	for i := 0; i < len(w.dirty); i++ {
		hs := w.dirty[i]
		hs.dirty = false
		w.step(hs)
		w.dirty[i] = nil
	}
	w.dirty = w.dirty[:0]
	return true
}

// RunFor runs the simulation for d of virtual time: every event due up to
// Now()+d happens, and the clock ends at Now()+d. A host that keeps asking
// to be stepped at the current instant makes RunFor loop forever.
func (w *World) RunFor(d time.Duration) {
	end := w.now + max(d, 0)
	for w.advance(end) {
	}
	w.now = end
}

// RunUntil runs the simulation until done reports true (checked before
// starting and after every instant) or limit of virtual time has passed. It
// reports whether done became true; on success the clock stays at the
// instant that satisfied done, otherwise it ends at Now()+limit.
func (w *World) RunUntil(done func() bool, limit time.Duration) bool {
	if done() {
		return true
	}
	end := w.now + max(limit, 0)
	for w.advance(end) {
		if done() {
			return true
		}
	}
	w.now = end
	return done()
}

// Close drops every frame in flight and every frame waiting on a port,
// returning their buffers to their pools, and closes all ports. Hosts are
// not stepped again.
func (w *World) Close() {
	for w.q.len() > 0 {
		ev := w.q.pop()
		if ev.kind == evArrive {
			ev.buf.Free()
		}
	}
	for _, p := range w.ports {
		_ = p.Close()
	}
	for _, hs := range w.hosts {
		hs.pending = false
		hs.want = math.MaxInt64
	}
}
