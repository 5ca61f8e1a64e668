package bench

import (
	"context"
	"testing"
	"time"
)

// TestKernelWorkloadsRun runs each workload briefly over loopback: the
// drivers must finish, count operations and fill a measured window.
func TestKernelWorkloadsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real connections for about a second")
	}
	for _, w := range Workloads {
		r, err := Kernel().Run(context.Background(), w, Params{Duration: 100 * time.Millisecond, Warmup: 20 * time.Millisecond})
		if err != nil {
			t.Fatalf("%s: %v", w.Name, err)
		}
		if r.Ops <= 0 || r.Usage.Wall < 100*time.Millisecond {
			t.Errorf("%s: %d ops in %v", w.Name, r.Ops, r.Usage.Wall)
		}
		if w.Kind == RTT && r.Lat.Count() != uint64(r.Ops) {
			t.Errorf("rtt: %d samples for %d round trips", r.Lat.Count(), r.Ops)
		}
	}
}
