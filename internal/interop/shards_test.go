package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ustack/ustack/internal/netns"
)

// newShardPath is newPath for a two-shard stack: the TAP device is made
// multi_queue, and for AF_XDP both veth ends get two rx and two tx
// queues. AF_PACKET needs nothing more (its shards share the interface
// through a PACKET_FANOUT group).
func newShardPath(t *testing.T, kind string) *path {
	t.Helper()
	if kind == "afpacket" {
		return newPath(t, kind)
	}
	subnet.Lock()
	subnet.n++
	n := subnet.n
	subnet.Unlock()
	e := netns.New(t)
	p := &path{
		kind:      kind,
		stackIP:   fmt.Sprintf("10.93.%d.2", n),
		kernIP:    fmt.Sprintf("10.93.%d.1", n),
		stackCIDR: fmt.Sprintf("10.93.%d.2/24", n),
	}
	switch kind {
	case "tap":
		ns := e.NS()
		p.stack, p.kern, p.kernDev, p.spec = ns, ns, "ut0", "tap:ut0"
		ns.IP("tuntap", "add", "dev", "ut0", "mode", "tap", "multi_queue")
		ns.IP("addr", "add", p.kernIP+"/24", "dev", "ut0")
		ns.IP("link", "set", "ut0", "up")
	case "afxdp":
		p.stack, p.kern = e.NS(), e.NS()
		p.kernDev, p.spec = "k0", "afxdp:u0"
		netns.IP(t, "link", "add", "u0", "netns", p.stack.Name, "numtxqueues", "2", "numrxqueues", "2", "type", "veth",
			"peer", "name", "k0", "netns", p.kern.Name, "numtxqueues", "2", "numrxqueues", "2")
		p.stack.IP("link", "set", "u0", "up")
		p.kern.IP("link", "set", "k0", "up")
		p.kern.IP("addr", "add", p.kernIP+"/24", "dev", "k0")
		p.kernCmd(t, 10*time.Second, "ethtool", "-K", "k0", "tso", "off", "gso", "off", "tx", "off")
	default:
		t.Fatalf("unknown path %q", kind)
	}
	return p
}

// TestShards runs `ustack serve --shards 2 http` on each real path and
// has the kernel make 200 parallel requests (one curl, 200 transfers at
// once) and a 64 MiB download whose SHA-256 must match. Both queues must
// have received frames, frames that arrived on the other shard's queue
// must have been handed over in software (the kernel spreads flows with
// its own hash, which differs from the stack's ownership hash), none of
// those handoffs dropped, and no request failed.
//
// AF_XDP: the two sockets (one per veth rx queue) share the one XDP
// program link/afxdp attaches to u0. The kernel's end k0 has two tx
// queues and picks one per flow by its own hash (no XPS on veth), and
// veth delivers to the rx queue of the same number, so the kernel's
// flows reach both of the stack's queues.
func TestShards(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			require(t)
			p := newShardPath(t, kind)
			small := data(t, 16<<10)
			f := data(t, 64*mib)
			srv := p.serve(t, "--shards", "2", "--dir", dataDir, "http")
			if !strings.Contains(srv.output(), " over "+p.spec+" with 2 shards") {
				t.Errorf("start line does not name 2 shards:\n%s", srv.output())
			}

			var sb strings.Builder
			sb.WriteString("curl -sS -Z --parallel-immediate --parallel-max 200 --max-time 40")
			for range 200 {
				fmt.Fprintf(&sb, " -o /dev/null -w '%%{http_code} %%{size_download}\\n' http://%s:8080/%s", p.stackIP, small.name)
			}
			start := time.Now()
			out := p.kernSh(t, 50*time.Second, sb.String())
			want := fmt.Sprintf("200 %d", small.size)
			ok := 0
			for l := range strings.Lines(out) {
				if strings.TrimSpace(l) == want {
					ok++
				}
			}
			if ok != 200 {
				t.Fatalf("%d of 200 parallel requests got %q:\n%s", ok, want, out)
			}
			t.Logf("200 parallel requests in %v", time.Since(start).Round(time.Millisecond))

			start = time.Now()
			out = p.kernSh(t, 50*time.Second, fmt.Sprintf("curl -sS --fail --max-time 40 http://%s:8080/%s | sha256sum", p.stackIP, f.name))
			if got := strings.Fields(out); len(got) == 0 || got[0] != f.sha {
				t.Fatalf("download: sha256 %q, want %s", out, f.sha)
			}
			t.Logf("download: %s, SHA-256 matches", rate(f.size, time.Since(start)))

			// The stats line comes every 100 ms: wait for one that has
			// seen every connection.
			srv.waitFor(5*time.Second, func() bool { return srv.stats["accepted"] >= 201 })
			srv.mu.Lock()
			st := srv.stats
			srv.mu.Unlock()
			t.Logf("stats %v", st)
			switch {
			case st["shards"] != 2:
				t.Errorf("stats name %d shards, want 2", st["shards"])
			case st["accepted"] < 201:
				t.Errorf("the server accepted %d connections, want at least 201", st["accepted"])
			case st["q0_rx"] == 0 || st["q1_rx"] == 0:
				t.Errorf("frames received per queue: %d and %d; want both queues used", st["q0_rx"], st["q1_rx"])
			case st["handoffs"] == 0:
				t.Errorf("no frame was handed between shards: the kernel's flow spreading agreed with the stack's hash on every frame of 201 connections")
			case st["handoff_drops"] != 0:
				t.Errorf("%d handed-over frames dropped", st["handoff_drops"])
			case st["in_csum_errors"] != 0 || st["resets_seen"] != 0:
				t.Errorf("checksum errors %d, resets %d; want none", st["in_csum_errors"], st["resets_seen"])
			}
			srv.stop()
		})
	}
}
