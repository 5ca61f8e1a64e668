package ustacksys

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ustack/ustack/internal/bench"
	"github.com/ustack/ustack/internal/netns"
	"github.com/ustack/ustack/link/spec"
	"github.com/ustack/ustack/shard"
)

// runBrief runs w for 100 ms, and once more for 2 s if nothing completed:
// on a loaded machine (or under -race) the process can go unscheduled for
// longer than a short window, and a window with no operation is an error.
func runBrief(s bench.System, w bench.Workload) (*bench.Result, error) {
	r, err := s.Run(context.Background(), w, bench.Params{Duration: 100 * time.Millisecond, Warmup: 20 * time.Millisecond})
	if err != nil && strings.Contains(err.Error(), "in the measured window") {
		r, err = s.Run(context.Background(), w, bench.Params{Duration: 2 * time.Second, Warmup: 20 * time.Millisecond})
	}
	return r, err
}

// TestEventWorkloadsRun runs each workload briefly on two stacks over
// link/mem through the event API.
func TestEventWorkloadsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two stacks for about a second")
	}
	for _, w := range bench.Workloads {
		r, err := runBrief(Event(Options{Polling: shard.Adaptive}), w)
		if err != nil {
			t.Fatalf("%s: %v", w.Name, err)
		}
		if r.Ops <= 0 || r.Usage.Wall < 100*time.Millisecond {
			t.Errorf("%s: %d ops in %v", w.Name, r.Ops, r.Usage.Wall)
		}
		if r.Errors != 0 {
			t.Errorf("%s: %d failed operations, first %v", w.Name, r.Errors, r.FirstErr)
		}
		if w.Kind == bench.RTT && r.Lat.Count() != uint64(r.Ops) {
			t.Errorf("rtt: %d samples for %d round trips", r.Lat.Count(), r.Ops)
		}
		if w.Large && r.Note == "" {
			t.Errorf("%s: no note saying how large frames were run", w.Name)
		}
	}
}

// TestConnWorkloadsRun does the same through net.Listener and net.Conn.
func TestConnWorkloadsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two stacks for about a second")
	}
	for _, w := range bench.Workloads {
		r, err := runBrief(Conn(Options{}), w)
		if err != nil {
			t.Fatalf("%s: %v", w.Name, err)
		}
		if r.Ops <= 0 || r.Errors != 0 {
			t.Errorf("%s: %d ops, %d failed (first %v)", w.Name, r.Ops, r.Errors, r.FirstErr)
		}
	}
}

func TestCheckLink(t *testing.T) {
	for s, want := range map[string]spec.Kind{"": spec.Mem, "mem": spec.Mem, "afxdp": spec.AFXDP, "afpacket": spec.AFPacket, "tap": spec.TAP} {
		if k, err := CheckLink(s); err != nil || k != want {
			t.Errorf("CheckLink(%q) = %v, %v; want %v", s, k, err, want)
		}
	}
	// A device name: the run makes its own devices.
	for _, s := range []string{"tap:ust0", "afxdp:eth0:1", "bogus"} {
		if _, err := CheckLink(s); !errors.Is(err, spec.ErrSyntax) {
			t.Errorf("CheckLink(%q) = %v, want ErrSyntax", s, err)
		}
	}
}

// TestNetPathWorkloads runs the workloads briefly over each real packet
// path (namespaces, veth or bridge, made and removed by the run) through
// both APIs, and checks that nothing is left behind.
func TestNetPathWorkloads(t *testing.T) {
	if testing.Short() {
		t.Skip("makes namespaces and runs stacks over them for several seconds")
	}
	netns.Require(t, "ethtool")
	for _, kind := range []spec.Kind{spec.AFXDP, spec.AFPacket, spec.TAP} {
		o := Options{Polling: shard.Adaptive, Link: string(kind)}
		for _, sys := range []bench.System{Event(o), Conn(o)} {
			for _, w := range bench.Workloads {
				if w.Kind == bench.CPS && w.Clients > 1 {
					continue // cps-1 covers connection churn
				}
				r, err := runBrief(sys, w)
				if w.Kind == bench.Bulk && w.Large {
					if !errors.Is(err, bench.ErrUnavailable) {
						t.Errorf("%s %s %s: %v, want ErrUnavailable", kind, sys.Name(), w.Name, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s %s %s: %v", kind, sys.Name(), w.Name, err)
				}
				if r.Ops <= 0 || r.Errors != 0 {
					t.Errorf("%s %s %s: %d ops, %d failed (first %v)", kind, sys.Name(), w.Name, r.Ops, r.Errors, r.FirstErr)
				}
				if !strings.Contains(r.Note, "made for the run") {
					t.Errorf("%s %s %s: note %q does not say what the frames crossed", kind, sys.Name(), w.Name, r.Note)
				}
			}
		}
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	if mine := fmt.Sprintf("ustb-%d-", os.Getpid()); strings.Contains(string(out), mine) {
		t.Errorf("namespaces left behind:\n%s", out)
	}
}

// TestShardedWorkloadsRun runs the connection workloads on stacks of two
// shards each, through both APIs, and requires the note to say so.
func TestShardedWorkloadsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two stacks of two shards for about a second")
	}
	for _, sys := range []bench.System{Event(Options{Shards: 2}), Conn(Options{Shards: 2})} {
		for _, w := range bench.Workloads {
			if w.Kind == bench.Bulk {
				continue
			}
			r, err := runBrief(sys, w)
			if err != nil {
				t.Fatalf("%s %s: %v", sys.Name(), w.Name, err)
			}
			if r.Ops <= 0 || r.Errors != 0 {
				t.Errorf("%s %s: %d ops, %d errors (first %v)", sys.Name(), w.Name, r.Ops, r.Errors, r.FirstErr)
			}
			if !strings.Contains(r.Note, "2 shards") {
				t.Errorf("%s %s: note %q does not give the shard count", sys.Name(), w.Name, r.Note)
			}
		}
	}
}
