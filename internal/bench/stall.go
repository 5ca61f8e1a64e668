package bench

import (
	"fmt"
	"sync"
	"time"
)

// stallTick is how often the stall watcher wakes; stallReport is the
// lateness beyond which a run's rows say the process was stalled.
const (
	stallTick   = 5 * time.Millisecond
	stallReport = 50 * time.Millisecond
)

// stallWatch measures how late a goroutine that sleeps stallTick at a time
// wakes up: the longest time the process (or the Go scheduler) left
// runnable work waiting. On a loaded machine it explains outliers, and a
// userspace stack suffers from it more than the kernel, whose timers and
// ACKs run whether or not the process is scheduled.
type stallWatch struct {
	stop chan struct{}
	done sync.WaitGroup
	max  time.Duration
}

func startStallWatch() *stallWatch {
	w := &stallWatch{stop: make(chan struct{})}
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		t := time.NewTicker(stallTick)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				now := time.Now() // the tick's own time is when it was due, not when we ran
				if late := now.Sub(last) - stallTick; late > w.max {
					w.max = late
				}
				last = now
			}
		}
	}()
	return w
}

// Stop ends the watch and returns a note when a stall was long enough to
// matter, else "".
func (w *stallWatch) Stop() string {
	close(w.stop)
	w.done.Wait()
	if w.max < stallReport {
		return ""
	}
	return fmt.Sprintf("a 5 ms ticker ran up to %v late during the run (the machine or the Go scheduler was saturated): figures are unreliable", w.max.Round(time.Millisecond))
}
