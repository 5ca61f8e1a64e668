package ustack

import (
	"sync"
	"sync/atomic"
	"time"
)

// A deadlineTimer is the time.Timer behind one deadline at a time: its
// callback fires whichever deadline owns it now, so a closed connection's
// timer can serve the next connection's (timerPool). A callback that runs
// late, for an owner that has since moved on, finds the owner's deadline
// re-checked under its lock (deadline.fireFrom) and does nothing wrong.
type deadlineTimer struct {
	t     *time.Timer
	owner atomic.Pointer[deadline]
}

func (dt *deadlineTimer) fire() {
	if d := dt.owner.Load(); d != nil {
		d.fireFrom(dt)
	}
}

// newDeadlineTimer makes a stopped timer owned by d.
func newDeadlineTimer(d *deadline) *deadlineTimer {
	dt := &deadlineTimer{}
	dt.owner.Store(d)
	dt.t = time.AfterFunc(time.Hour, dt.fire)
	dt.t.Stop()
	return dt
}

// timerPoolMax bounds the timers a pool keeps.
const timerPoolMax = 1024

// timerPool keeps the deadline timers of a stack's closed TCP
// connections for the next ones. A connection whose calls sleep with a
// deadline set needs a timer per direction (2 allocations each: the timer
// and its callback), which under connection churn with many clients was
// ~40% of the allocations per connection. The zero value is ready.
type timerPool struct {
	mu   sync.Mutex
	free []*deadlineTimer
}

// get returns a stopped timer owned by d.
func (p *timerPool) get(d *deadline) *deadlineTimer {
	p.mu.Lock()
	var dt *deadlineTimer
	if n := len(p.free); n > 0 {
		dt = p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
	}
	p.mu.Unlock()
	if dt == nil {
		return newDeadlineTimer(d)
	}
	dt.owner.Store(d)
	return dt
}

// put takes back a stopped timer that its deadline no longer uses.
func (p *timerPool) put(dt *deadlineTimer) {
	dt.owner.Store(nil)
	p.mu.Lock()
	if len(p.free) < timerPoolMax {
		p.free = append(p.free, dt)
	}
	p.mu.Unlock()
}
