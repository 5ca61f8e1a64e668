package ustack_test

import (
	"runtime"
	"testing"

	"github.com/ustack/ustack/shard"
)

// TestRefusedDialRecyclesConn: a Dial that is refused gives its
// connection (a tcp.Conn of ~2.6 KB) back to the stack's cache, so
// refused dials in a loop do not allocate one each. They used to: the
// endpoint stayed a socket's, which is never recycled.
func TestRefusedDialRecyclesConn(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation sizes differ under the race detector")
	}
	a, _ := newPair(t, shard.Adaptive)
	dial := func() {
		if _, err := a.Dial("tcp4", "10.0.0.2:9"); err == nil {
			t.Fatal("dial to a closed port succeeded")
		}
	}
	for range 10 {
		dial() // warm: ARP, caches
	}
	const n = 200
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		dial()
	}
	runtime.ReadMemStats(&after)
	perDial := (after.TotalAlloc - before.TotalAlloc) / n
	// What a refused dial still allocates: its TCPConn (with the
	// endpoint inside), the channel it waits on, the error and its
	// addresses: ~1.7 KB. A new tcp.Conn each time adds ~2.6 KB (4.4 KB
	// in all, measured before the fix).
	t.Logf("%d bytes per refused dial", perDial)
	if perDial > 3000 {
		t.Errorf("a refused dial allocates %d bytes: its connection is not recycled", perDial)
	}
	if n := testing.AllocsPerRun(100, dial); n > 7 {
		t.Errorf("a refused dial makes %v allocations, want at most 7", n)
	}
}
