package shard

import (
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"golang.org/x/sys/unix"
)

// fdLink signals frames through a pipe, like a kernel-backed link whose
// descriptor becomes readable; it has no link.Waiter.
type fdLink struct {
	*fakeLink
	r, w int
}

func newFdLink(t *testing.T, nonblock bool) *fdLink {
	var p [2]int
	flags := unix.O_CLOEXEC
	if nonblock {
		flags |= unix.O_NONBLOCK
	}
	if err := unix.Pipe2(p[:], flags); err != nil {
		t.Skipf("pipe2: %v", err)
	}
	l := &fdLink{fakeLink: newFakeLink(64), r: p[0], w: p[1]}
	if !nonblock {
		// Only the write end must not block the test.
		unix.SetNonblock(p[1], true)
	}
	l.fd = p[0]
	l.notify = func() { unix.Write(l.w, []byte{1}) }
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	return l
}

func (l *fdLink) Recv(bufs []*link.Buf) int {
	n := l.fakeLink.Recv(bufs)
	if n < len(bufs) {
		// Drained: clear readability. The shard's thread must not block
		// here, so read with poll first when the pipe is blocking.
		var b [64]byte
		for readable(uintptr(l.r)) {
			if k, err := unix.Read(l.r, b[:]); k <= 0 || err != nil {
				break
			}
		}
	}
	return n
}

func TestRunFdLink(t *testing.T) {
	for _, nonblock := range []bool{true, false} {
		for _, mode := range []Mode{Interrupt, Adaptive} {
			l := newFdLink(t, nonblock)
			s := newTestShard(t, l, &echo{l: l.fakeLink}, Config{Mode: mode})
			cancel, errc := startRun(t, s)
			waitFor(t, "park", func() bool { return s.Stats().Parks > 0 })
			exercise(t, s, l.fakeLink)
			stopRun(t, cancel, errc)
			if st := s.Stats(); st.Wakeups == 0 {
				t.Errorf("nonblock=%v %v: no wake-ups: %+v", nonblock, mode, st)
			}
		}
	}
}

// TestBorrowFdLink: a link with only a file descriptor can be borrowed
// (Run's fdWaiter is its waiter): the borrower's Poll serves frames, and
// after Return a frame wakes the parked Run through the descriptor.
func TestBorrowFdLink(t *testing.T) {
	for _, mode := range []Mode{Interrupt, Adaptive, Busy} {
		t.Run(mode.String(), func(t *testing.T) {
			l := newFdLink(t, true)
			s := newTestShard(t, l, &echo{l: l.fakeLink}, Config{Mode: mode, SpinTime: 20 * time.Microsecond})
			if s.TryBorrow() {
				t.Fatal("TryBorrow succeeded on a shard that is not running")
			}
			cancel, errc := startRun(t, s)
			exercise(t, s, l.fakeLink)
			borrowSoon(t, s)
			pollEcho(t, s, l.fakeLink, 7)
			s.Return()
			// Run sleeps (borrowed nap, then park); the next frame must
			// reach it through the descriptor.
			before := l.nsent.Load()
			l.inject(l.frame(8))
			waitFor(t, "Run to echo a frame after Return", func() bool { return l.nsent.Load() > before })
			stopRun(t, cancel, errc)
			if s.fdw.Load() != nil {
				t.Error("Run returned and left its fdWaiter")
			}
			if s.TryBorrow() {
				t.Error("TryBorrow succeeded after Run returned")
			}
		})
	}
}
