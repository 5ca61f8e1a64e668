package shard

import "fmt"

// Mode is how a running shard waits for work.
type Mode uint8

const (
	// Adaptive polls for Config.SpinTime after the loop goes idle,
	// yielding the processor between polls, then parks until a frame, a
	// task, a timer or shutdown wakes it. The default.
	Adaptive Mode = iota
	// Busy pins the shard to an OS thread and never sleeps: the lowest
	// latency, one core burnt per shard. When idle it calls
	// runtime.Gosched once every 64 polls so that a process with more
	// busy shards than GOMAXPROCS still makes progress.
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
