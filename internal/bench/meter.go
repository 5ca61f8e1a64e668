package bench

import (
	"runtime"
	"syscall"
	"time"
)

// Usage is what the process spent over a measured window.
type Usage struct {
	Wall   time.Duration
	CPU    time.Duration // user + system time of the whole process
	Allocs uint64        // heap allocations (runtime.MemStats.Mallocs)
}

// Meter measures a window of the process's wall time, CPU time and heap
// allocations. Start and Stop each read runtime.MemStats, which stops the
// world briefly; call them outside the timed loop.
type Meter struct {
	t0     time.Time
	cpu0   time.Duration
	alloc0 uint64
}

// Start opens the window.
func (m *Meter) Start() {
	m.alloc0 = mallocs()
	m.cpu0 = processCPU()
	m.t0 = time.Now()
}

// Stop closes the window and returns what it spent.
func (m *Meter) Stop() Usage {
	wall := time.Since(m.t0)
	cpu := processCPU()
	a := mallocs()
	return Usage{Wall: wall, CPU: cpu - m.cpu0, Allocs: a - m.alloc0}
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// processCPU is the user plus system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
