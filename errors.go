package ustack

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/ustack/ustack/ip"
	"github.com/ustack/ustack/udp"
)

// Socket errors match the errno a Linux socket call would fail with, so
// that code written against the kernel's net package keeps working:
// errors.Is(err, syscall.EADDRINUSE) and the like hold for the errors the
// socket methods return. They come wrapped in *net.OpError, as the net
// package's do, and keep the layer's own error (ip.ErrNoRoute, ...) in the
// chain as well.

// errnoOf maps an error from the ip or udp layer to the errno Linux gives
// for the same condition, or 0 when there is none.
func errnoOf(err error) syscall.Errno {
	switch {
	case errors.Is(err, udp.ErrAddrInUse):
		return syscall.EADDRINUSE
	case errors.Is(err, udp.ErrNoEphemeral):
		return syscall.EADDRINUSE // what bind(2) with port 0 gives on Linux
	case errors.Is(err, udp.ErrMsgSize), errors.Is(err, ip.ErrMsgSize):
		return syscall.EMSGSIZE
	case errors.Is(err, ip.ErrNoRoute):
		return syscall.ENETUNREACH
	case errors.Is(err, ip.ErrNoBuffer):
		return syscall.ENOBUFS
	case errors.Is(err, udp.ErrBadAddress), errors.Is(err, ip.ErrBadAddress), errors.Is(err, udp.ErrBound):
		return syscall.EINVAL
	}
	return 0
}

// withErrno wraps err so that it also matches its errno; errors that have
// none, or match one already, are returned as they are.
func withErrno(err error) error {
	if err == nil {
		return nil
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		return err
	}
	if n := errnoOf(err); n != 0 {
		return fmt.Errorf("%w: %w", n, err)
	}
	return err
}

// errIPv6 is returned for IPv6 networks and addresses.
var errIPv6 = fmt.Errorf("%w: IPv6 is not supported yet (ustack speaks IPv4 only)", syscall.EAFNOSUPPORT)

// opError builds the *net.OpError socket methods return.
func opError(op, network string, src, addr net.Addr, err error) error {
	return &net.OpError{Op: op, Net: network, Source: src, Addr: addr, Err: err}
}
