package spec_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/ustack/ustack/internal/netns"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/afxdp"
	"github.com/ustack/ustack/link/spec"
)

func TestOpenQueuesRefusals(t *testing.T) {
	for _, tc := range []struct {
		s    spec.Spec
		n    int
		want string
	}{
		{spec.Spec{Kind: spec.Mem}, 0, "count must be in [1, 256]"},
		{spec.Spec{Kind: spec.Mem}, 257, "count must be in [1, 256]"},
		{spec.Spec{Kind: spec.Mem}, 2, "mem.NewQueues(2)"},
		{spec.Spec{Kind: spec.AFXDP, Name: "eth0"}, 2, "address"},
		{spec.Spec{Kind: spec.AFXDP, Name: "eth0"}, 1, "address"},
		{spec.Spec{Kind: "bogus"}, 2, "accepted forms"},
	} {
		ls, err := spec.OpenQueues(tc.s, tc.n, spec.Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("OpenQueues(%s, %d): %v, %v; want an error saying %q", tc.s, tc.n, ls, err, tc.want)
		}
	}
	if _, err := spec.OpenQueues(spec.Spec{Kind: spec.Mem}, 2, spec.Options{}); !errors.Is(err, spec.ErrUnsupported) {
		t.Errorf("mem x2: %v; want ErrUnsupported", err)
	}
}

// One queue is Open.
func TestOpenQueuesOne(t *testing.T) {
	ls, err := spec.OpenQueues(spec.Spec{Kind: spec.Mem}, 1, spec.Options{})
	if err != nil || len(ls) != 1 || ls[0].MTU() != 1500 {
		t.Fatalf("OpenQueues(mem, 1) = %v, %v", ls, err)
	}
	ls[0].Close()
}

// inNS runs fn in a fresh namespace holding veth u0 (peer k0 in a second
// namespace) with q rx/tx queues on each end.
func inNS(t *testing.T, q string, fn func() error) {
	t.Helper()
	netns.Require(t)
	e := netns.New(t)
	a, b := e.NS(), e.NS()
	netns.IP(t, "link", "add", "u0", "netns", a.Name, "numtxqueues", q, "numrxqueues", q, "type", "veth",
		"peer", "name", "k0", "netns", b.Name, "numtxqueues", q, "numrxqueues", q)
	a.IP("link", "set", "u0", "up")
	b.IP("link", "set", "k0", "up")
	if err := a.Do(fn); err != nil {
		t.Fatal(err)
	}
}

// distinct checks that ls are n open, different links of one MAC.
func distinct(t *testing.T, what string, ls []link.Link, n int) {
	t.Helper()
	if len(ls) != n {
		t.Fatalf("%s: %d links, want %d", what, len(ls), n)
	}
	fds := map[int]bool{}
	for i, l := range ls {
		if l.HardwareAddr() != ls[0].HardwareAddr() {
			t.Errorf("%s: queue %d has MAC %x, queue 0 %x", what, i, l.HardwareAddr(), ls[0].HardwareAddr())
		}
		if l.Fd() < 0 || fds[l.Fd()] {
			t.Errorf("%s: queue %d has fd %d (not open, or shared)", what, i, l.Fd())
		}
		fds[l.Fd()] = true
	}
}

func closeAll(ls []link.Link) {
	for _, l := range ls {
		l.Close()
	}
}

func TestOpenQueuesTAP(t *testing.T) {
	inNS(t, "1", func() error {
		ls, err := spec.OpenQueues(spec.Spec{Kind: spec.TAP, Name: "mq0"}, 3, spec.Options{})
		if err != nil {
			return err
		}
		distinct(t, "tap x3", ls, 3)
		closeAll(ls)
		// A device made without multi_queue cannot take more queues: the
		// error says how to make one that can.
		netns.IP(t, "tuntap", "add", "dev", "sq0", "mode", "tap")
		_, err = spec.OpenQueues(spec.Spec{Kind: spec.TAP, Name: "sq0"}, 2, spec.Options{})
		if err == nil || !strings.Contains(err.Error(), "multi_queue") {
			t.Errorf("OpenQueues(tap:sq0, 2) on a single-queue device: %v; want the multi_queue hint", err)
		}
		return nil
	})
}

// Two fanout sets on one interface get group ids of their own: each set
// opens (a socket joining a group made with other options would fail),
// and the sets' sockets are all distinct.
func TestOpenQueuesFanout(t *testing.T) {
	inNS(t, "1", func() error {
		sp := spec.Spec{Kind: spec.AFPacket, Name: "u0"}
		a, err := spec.OpenQueues(sp, 2, spec.Options{})
		if err != nil {
			return err
		}
		defer closeAll(a)
		b, err := spec.OpenQueues(sp, 2, spec.Options{})
		if err != nil {
			return err
		}
		defer closeAll(b)
		distinct(t, "two fanout sets", append(append([]link.Link{}, a...), b...), 4)
		_, err = spec.OpenQueues(spec.Spec{Kind: spec.AFPacket, Name: "nosuch"}, 2, spec.Options{})
		if err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("OpenQueues(afpacket:nosuch, 2): %v", err)
		}
		return nil
	})
}

// AF_XDP: asking for more queues than the device has names the count and
// how to raise it; with enough queues each gets its own socket on one
// shared program, and closing them all releases the interface.
func TestOpenQueuesAFXDP(t *testing.T) {
	addrs := spec.Options{Addrs: []netip.Addr{netip.MustParseAddr("10.9.0.2")}}
	inNS(t, "1", func() error {
		_, err := spec.OpenQueues(spec.Spec{Kind: spec.AFXDP, Name: "u0"}, 2, addrs)
		if err == nil || !strings.Contains(err.Error(), "has 1 rx queues") || !strings.Contains(err.Error(), "numrxqueues 2") {
			t.Errorf("OpenQueues(afxdp:u0, 2) on a 1-queue veth: %v; want the queue count and how to raise it", err)
		}
		_, err = spec.OpenQueues(spec.Spec{Kind: spec.AFXDP, Name: "u0", Queue: 1}, 1, addrs)
		if err == nil {
			t.Errorf("OpenQueues(afxdp:u0:1, 1) on a 1-queue veth succeeded")
		}
		return nil
	})
	inNS(t, "3", func() error {
		ls, err := spec.OpenQueues(spec.Spec{Kind: spec.AFXDP, Name: "u0"}, 3, addrs)
		if err != nil {
			return fmt.Errorf("OpenQueues(afxdp:u0, 3) on a 3-queue veth: %w", err)
		}
		distinct(t, "afxdp:u0 x3", ls, 3)
		for i, l := range ls {
			if q := l.(*afxdp.Link).Queue(); q != i {
				t.Errorf("link %d is on queue %d", i, q)
			}
		}
		// A queue of the set is taken while the set is open.
		if _, err := spec.OpenQueues(spec.Spec{Kind: spec.AFXDP, Name: "u0", Queue: 2}, 1, addrs); !errors.Is(err, afxdp.ErrQueueBusy) {
			t.Errorf("OpenQueues(afxdp:u0:2, 1) while queue 2 is open: %v, want afxdp.ErrQueueBusy", err)
		}
		closeAll(ls)
		// Everything was released: queues 1 and 2 open again, alone.
		ls, err = spec.OpenQueues(spec.Spec{Kind: spec.AFXDP, Name: "u0", Queue: 1}, 2, addrs)
		if err != nil {
			return fmt.Errorf("OpenQueues(afxdp:u0:1, 2) after closing the set: %w", err)
		}
		closeAll(ls)
		return nil
	})
}
