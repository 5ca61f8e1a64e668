package shard

import "fmt"

// Mode is how a running shard waits for work.
type Mode uint8

const (
	// Adaptive polls for Config.SpinTime after the loop goes idle, then
	// parks until a frame, a task, a timer or shutdown wakes it. The
	// default. While polling it yields the processor as Busy does.
	Adaptive Mode = iota
	// Busy never sleeps: the lowest latency, one core (one P) burnt per
	// shard. It yields the processor (runtime.Gosched) after every
	// iteration that did work, so the goroutines it woke run at once, and
	// every 16 idle polls, so that a process with more busy shards than
	// GOMAXPROCS still makes progress. It does not lock its OS thread
	// (see yielder in run.go for why).
	Busy
	// Interrupt parks as soon as an iteration finds nothing to do.
	Interrupt
)

var modeNames = [...]string{Adaptive: "adaptive", Busy: "busy", Interrupt: "interrupt"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ParseMode parses a Mode name as printed by String.
func ParseMode(s string) (Mode, error) {
	for m, name := range modeNames {
		if s == name {
			return Mode(m), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown mode %q (want adaptive, busy or interrupt)", ErrConfig, s)
}
