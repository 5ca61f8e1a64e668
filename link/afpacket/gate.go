package afpacket

import (
	"runtime"
	"sync/atomic"
)

// gate lets one user at a time in (Recv, Send or Stats) until it is shut;
// shut waits for the user inside to leave. It guards the rings and the
// descriptor against Close from another goroutine.
type gate struct{ s atomic.Int32 }

const (
	gateIdle   = 0
	gateBusy   = 1
	gateClosed = 2
)

func (g *gate) enter() bool { return g.s.CompareAndSwap(gateIdle, gateBusy) }
func (g *gate) leave()      { g.s.Store(gateIdle) }

// shut closes the gate, waiting for a user to leave. It reports false if
// the gate was already closed.
func (g *gate) shut() bool {
	for {
		switch g.s.Load() {
		case gateClosed:
			return false
		case gateIdle:
			if g.s.CompareAndSwap(gateIdle, gateClosed) {
				return true
			}
		default:
			runtime.Gosched()
		}
	}
}
