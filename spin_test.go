package ustack_test

import (
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link/mem"
)

// TestSpinBackoffEndsOnQuickAnswer: after a busy poll ran out of budget a
// stack's calls sleep instead of polling — until one that slept is
// answered within the budget, which shows polling would have caught it.
// (One late answer used to make the next 64 calls sleep whatever came.)
func TestSpinBackoffEndsOnQuickAnswer(t *testing.T) {
	la, lb := mem.Pair()
	// A budget no answer on this link can exceed, even on a loaded
	// machine: "answered within the budget" is then certain.
	cfg := func(l *mem.Link, a string) ustack.Config {
		return ustack.Config{Link: l, Addr: netip.MustParsePrefix(a), BusyPoll: 5 * time.Second}
	}
	a, err := ustack.New(cfg(la, "10.0.0.1/24"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := ustack.New(cfg(lb, "10.0.0.2/24"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, s := connPair(t, a, b)
	done := make(chan struct{})
	defer func() {
		c.Close() // the server's Read, polling, sees the FIN and ends
		<-done
	}()
	go func() {
		defer close(done)
		var buf [1]byte
		for {
			if _, err := io.ReadFull(s, buf[:]); err != nil {
				return
			}
			time.Sleep(time.Millisecond) // the reader must sleep, not poll
			if _, err := s.Write(buf[:]); err != nil {
				return
			}
		}
	}()
	ustack.SetSpinSkip(a, ustack.SpinBackoff())
	var buf [1]byte
	if _, err := c.Write([]byte{7}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf[:]); err != nil || buf[0] != 7 {
		t.Fatalf("echo: %v %v", buf, err)
	}
	if n := ustack.SpinSkip(a); n != 0 {
		t.Errorf("after a sleeping Read answered in ~1 ms (budget 5 s), %d polls are still to be skipped, want 0", n)
	}
}

// TestCloseDuringPollingRead: closing a stack does not wait for a Read
// that busy polls to use up its budget.
func TestCloseDuringPollingRead(t *testing.T) {
	la, lb := mem.Pair()
	cfg := func(l *mem.Link, a string) ustack.Config {
		return ustack.Config{Link: l, Addr: netip.MustParsePrefix(a), BusyPoll: time.Hour}
	}
	a, err := ustack.New(cfg(la, "10.0.0.1/24"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ustack.New(cfg(lb, "10.0.0.2/24"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, _ := connPair(t, a, b)
	readErr := make(chan error, 1)
	go func() {
		var buf [1]byte
		_, err := c.Read(buf[:]) // polls: nothing will come
		readErr <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the Read start polling
	closed := make(chan error, 1)
	go func() { closed <- a.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for a polling Read (budget 1 h)")
	}
	select {
	case err := <-readErr:
		if err == nil {
			t.Error("the Read on a closed stack returned no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the Read did not return after Close")
	}
}
