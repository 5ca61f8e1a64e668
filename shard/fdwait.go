package shard

import (
	"os"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// fdWaiter waits for a link's file descriptor to become readable without
// blocking the shard's thread in a system call. A helper goroutine waits
// in the Go netpoller (os.File + SyscallConn().Read with a callback that
// reports "not yet" until poll(2) with a zero timeout says readable) and
// signals a channel.
//
// Cost per park: one channel send to wake the helper, its epoll
// registration wait, one zero-timeout poll(2) per readiness check (in the
// helper), and one channel send back: two goroutine hand-offs (~0.3 µs on
// a small VM) on top of the netpoller's wake-up. Only parking pays this;
// a busy shard never touches the helper.
//
// The helper works on a dup of the descriptor, so closing its os.File
// never closes the link's own. A descriptor in blocking mode cannot join
// the netpoller; for it the helper falls back to poll(2) with a 10 ms
// timeout (blocking the helper's thread, never the shard's).
//
// It is the link.Waiter of a link that has a descriptor and no Waiter of
// its own (TAP, AF_PACKET, AF_XDP): Run makes one for as long as it runs,
// so borrowers can arm it (Return) as they arm a link/mem link.
type fdWaiter struct {
	f    *os.File
	rc   syscall.RawConn
	fd   int
	req  chan struct{}
	c    chan struct{}
	quit chan struct{}
	done chan struct{}
	// pending: a request is outstanding. arm sets it (whoever holds the
	// loop's token); the helper clears it just before it signals.
	pending atomic.Bool
}

// newFdWaiter returns nil when the descriptor cannot be duplicated; the
// shard then polls the link every Config.PollInterval instead. Signals go
// to c.
func newFdWaiter(linkFd int, c chan struct{}) *fdWaiter {
	fd, err := unix.Dup(linkFd)
	if err != nil {
		return nil
	}
	w := &fdWaiter{
		fd:   fd,
		req:  make(chan struct{}, 1),
		c:    c,
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err == nil && fl&unix.O_NONBLOCK != 0 {
		w.f = os.NewFile(uintptr(fd), "ustack-link")
		if rc, err := w.f.SyscallConn(); err == nil {
			w.rc = rc
		}
	}
	go w.loop()
	return w
}

// Arm requests one readiness signal on the channel the waiter was made
// with (c must be that channel), unless one is outstanding. It always
// reports true: a descriptor already readable is signalled at once by the
// helper, which is how frames already waiting are told.
func (w *fdWaiter) Arm(c chan<- struct{}) bool {
	if w.pending.CompareAndSwap(false, true) {
		select {
		case w.req <- struct{}{}:
		default: // a request is queued already
		}
	}
	return true
}

func (w *fdWaiter) close() {
	close(w.quit)
	if w.f != nil {
		w.f.Close() // unblocks a netpoller wait
	}
	<-w.done
	if w.f == nil {
		unix.Close(w.fd)
	}
}

func readable(fd uintptr) bool {
	p := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(p[:], 0)
	return err == nil && n > 0
}

func (w *fdWaiter) loop() {
	defer close(w.done)
	for {
		select {
		case <-w.req:
		case <-w.quit:
			return
		}
		switch {
		case w.rc != nil:
			if err := w.rc.Read(readable); err != nil {
				return // file closed: shutting down
			}
		default:
			for !w.pollBlocking() {
				select {
				case <-w.quit:
					return
				default:
				}
			}
		}
		w.pending.Store(false)
		select {
		case w.c <- struct{}{}:
		default:
		}
	}
}

func (w *fdWaiter) pollBlocking() bool {
	p := [1]unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	n, err := unix.Poll(p[:], 10)
	return (err == nil && n > 0) || (err != nil && err != unix.EINTR)
}
