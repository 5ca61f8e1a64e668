package netns

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// WithoutNetCaps runs fn on a fresh OS thread that has dropped
// CAP_NET_ADMIN and CAP_NET_RAW, as an unprivileged process would lack
// them, and returns fn's error. Capabilities belong to the thread, so the
// thread is never reused: it stays locked and the runtime discards it
// when fn's goroutine ends. Only the system calls fn makes on that thread
// (all of a synchronous Open) run without the capabilities.
// The thread is in the process's original network namespace; see
// NS.DoWithoutNetCaps for one inside a namespace.
func WithoutNetCaps(fn func() error) error { return withoutNetCaps(-1, fn) }

// DoWithoutNetCaps is WithoutNetCaps on a thread inside the namespace.
func (ns *NS) DoWithoutNetCaps(fn func() error) error {
	target, err := unix.Open("/run/netns/"+ns.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netns: open %s: %w", ns.Name, err)
	}
	defer unix.Close(target)
	return withoutNetCaps(target, fn)
}

func withoutNetCaps(nsFd int, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with us
		if nsFd >= 0 {
			if err := unix.Setns(nsFd, unix.CLONE_NEWNET); err != nil {
				done <- fmt.Errorf("netns: setns: %w", err)
				return
			}
		}
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			done <- fmt.Errorf("netns: capget: %w", err)
			return
		}
		drop := uint32(1<<unix.CAP_NET_ADMIN | 1<<unix.CAP_NET_RAW)
		data[0].Effective &^= drop
		data[0].Permitted &^= drop
		data[0].Inheritable &^= drop
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			done <- fmt.Errorf("netns: capset: %w", err)
			return
		}
		done <- fn()
	}()
	return <-done
}
