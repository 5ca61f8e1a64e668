package afxdp

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// twoQueueVeth makes fresh namespaces with a veth pair of two rx and two
// tx queues on each end.
func twoQueueVeth(t *testing.T) *vethPair {
	t.Helper()
	needRoot(t)
	base := newVethPair(t) // fresh namespaces; a second pair inside them
	id := base.IfA[2:]
	p := &vethPair{NsA: base.NsA, NsB: base.NsB, IfA: "qa" + id, IfB: "qb" + id}
	run(t, "ip", "-n", p.NsA, "link", "add", p.IfA, "numrxqueues", "2", "numtxqueues", "2", "type", "veth",
		"peer", "name", p.IfB, "numrxqueues", "2", "numtxqueues", "2", "netns", p.NsB)
	run(t, "ip", "-n", p.NsA, "link", "set", p.IfA, "up")
	run(t, "ip", "-n", p.NsB, "link", "set", p.IfB, "up")
	return p
}

// TestMultiQueue: Links on both queues of a two-queue veth share one XDP
// program. veth delivers a frame to the peer's rx queue numbered like the
// tx queue it was sent on, and an AF_XDP socket sends on its own queue, so
// B's queue i reaches A's queue i: each of A's Links gets exactly its
// queue's frames. Options that differ are refused, a taken queue is busy,
// and the program stays attached until the last Close.
func TestMultiQueue(t *testing.T) {
	p := twoQueueVeth(t)
	stack := WithAddrs(stackAddr.Addr())

	if _, err := openIn(t, p.NsA, p.IfA, 2, stack); !errors.Is(err, ErrQueueRange) {
		t.Errorf("queue 2 of a two-queue veth: %v, want ErrQueueRange", err)
	}
	if n := attached(); n != 0 {
		t.Fatalf("%d attachments left after a failed Open", n)
	}
	a0, err := openIn(t, p.NsA, p.IfA, 0, stack)
	if err != nil {
		t.Fatalf("A queue 0: %v", err)
	}
	defer a0.Close()

	// The queues of one interface must steer alike.
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"no addresses", nil},
		{"another address", []Option{WithAddrs(netip.MustParseAddr("10.99.0.9"))}},
		{"an extra address", []Option{stack, WithAddrs(netip.MustParseAddr("10.99.0.9"))}},
		{"ports", []Option{stack, WithPorts(UDP, 4001)}},
		{"max addresses", []Option{stack, WithMaxAddrs(4)}},
		{"generic mode", []Option{stack, WithAttachMode(AttachGeneric)}},
	} {
		if l, err := openIn(t, p.NsA, p.IfA, 1, tc.opts...); !errors.Is(err, ErrMismatch) {
			if err == nil {
				l.Close()
			}
			t.Errorf("queue 1 with %s: %v, want ErrMismatch", tc.name, err)
		} else if tc.name == "another address" {
			t.Logf("mismatch: %v", err)
		}
	}
	if _, err := openIn(t, p.NsA, p.IfA, 0, stack); !errors.Is(err, ErrQueueBusy) {
		t.Errorf("queue 0 again: %v, want ErrQueueBusy", err)
	}
	a1, err := openIn(t, p.NsA, p.IfA, 1, stack, WithAttachMode(AttachNative))
	if err != nil {
		t.Fatalf("A queue 1: %v", err)
	}
	defer a1.Close()
	if a1.Queue() != 1 || a1.Interface() != p.IfA || a1.Mode() != a0.Mode() {
		t.Errorf("A queue 1: Queue %d Interface %q Mode %q (queue 0 %q)", a1.Queue(), a1.Interface(), a1.Mode(), a0.Mode())
	}

	var b [2]*Link
	for q := range b {
		if b[q], err = openIn(t, p.NsB, p.IfB, q); err != nil {
			t.Fatalf("B queue %d: %v", q, err)
		}
		defer b[q].Close()
	}
	if n := attached(); n != 2 {
		t.Errorf("%d attachments for two interfaces", n)
	}
	if out := run(t, "ip", "-n", p.NsA, "link", "show", p.IfA); strings.Count(out, "prog/xdp id") != 1 {
		t.Errorf("want one XDP program on the interface:\n%s", out)
	}

	sendAll(t, b[0], a0, 300, 32)
	sendAll(t, b[1], a1, 200, 32)
	if s0, s1 := a0.Stats(), a1.Stats(); s0.RxFrames != 300 || s1.RxFrames != 200 {
		t.Errorf("queue 0 received %d frames, queue 1 %d; want 300 and 200 (each its own queue's)", s0.RxFrames, s1.RxFrames)
	}

	// An address added through one queue's Link is steered on both.
	extra := netip.MustParseAddr("10.99.0.9")
	if err := a1.AddAddr(extra); err != nil {
		t.Fatal(err)
	}
	if l, err := openIn(t, p.NsA, p.IfA, 1, stack); !errors.Is(err, ErrQueueBusy) {
		if err == nil {
			l.Close()
		}
		t.Errorf("queue 1 again: %v, want ErrQueueBusy", err)
	}

	// Closing queue 0 leaves queue 1 working on the same program.
	if err := a0.Close(); err != nil {
		t.Fatalf("closing queue 0: %v", err)
	}
	sendAll(t, b[1], a1, 100, 16)
	if n := attached(); n != 2 {
		t.Errorf("%d attachments after closing one of two queues, want 2", n)
	}
	// Queue 0 reopens only with the steering as it now stands.
	if _, err := openIn(t, p.NsA, p.IfA, 0, stack); !errors.Is(err, ErrMismatch) {
		t.Errorf("queue 0 without the added address: %v, want ErrMismatch", err)
	}
	a0, err = openIn(t, p.NsA, p.IfA, 0, stack, WithAddrs(extra))
	if err != nil {
		t.Fatalf("reopening queue 0: %v", err)
	}
	sendAll(t, b[0], a0, 100, 16)

	for _, l := range []*Link{a0, a1, b[0], b[1]} {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if n := attached(); n != 0 {
		t.Errorf("%d attachments after every Link closed", n)
	}
	if out := run(t, "ip", "-n", p.NsA, "link", "show", p.IfA); strings.Contains(out, "xdp") {
		t.Errorf("the interface still has an XDP program after every Link closed:\n%s", out)
	}
	// The program was detached: a fresh one with other steering attaches.
	l, err := openIn(t, p.NsA, p.IfA, 1, WithAddrs(extra), WithPorts(TCP, 80))
	if err != nil {
		t.Fatalf("opening after the last Close: %v", err)
	}
	l.Close()
}

// TestMultiQueueConcurrentOpenClose: goroutines open and close Links on
// both queues of one interface at once. Every Open either succeeds or
// finds its queue busy; afterwards nothing is left attached, and both
// queues open again and carry their frames.
func TestMultiQueueConcurrentOpenClose(t *testing.T) {
	p := twoQueueVeth(t)
	stack := WithAddrs(stackAddr.Addr())
	const workers, rounds = 4, 10
	errs := make(chan error, workers*rounds)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				var l *Link
				var err error
				inNetns(t, p.NsA, func() { l, err = Open(p.IfA, w%2, stack, WithFrames(2048, 256)) })
				if errors.Is(err, ErrQueueBusy) {
					continue
				}
				if err == nil {
					err = l.Close()
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("open or close: %v", err)
	}
	if n := attached(); n != 0 {
		t.Fatalf("%d attachments left after every Link closed", n)
	}
	var a, b [2]*Link
	for q := range 2 {
		var err error
		if a[q], err = openIn(t, p.NsA, p.IfA, q, stack); err != nil {
			t.Fatalf("A queue %d: %v", q, err)
		}
		defer a[q].Close()
		if b[q], err = openIn(t, p.NsB, p.IfB, q); err != nil {
			t.Fatalf("B queue %d: %v", q, err)
		}
		defer b[q].Close()
	}
	sendAll(t, b[0], a[0], 100, 16)
	sendAll(t, b[1], a[1], 100, 16)
}
