package afxdp

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Errors Open wraps (test with errors.Is); the underlying errno is wrapped
// as well.
var (
	// ErrPermission: the caller may not make AF_XDP sockets, load BPF
	// programs or attach them.
	ErrPermission = errors.New("afxdp: permission denied: needs root or CAP_NET_ADMIN+CAP_BPF (and CAP_NET_RAW for the socket)")
	// ErrMemlock: the UMEM or the BPF objects exceed RLIMIT_MEMLOCK.
	ErrMemlock = errors.New("afxdp: locked-memory limit too low (raise RLIMIT_MEMLOCK, ulimit -l, or give CAP_IPC_LOCK)")
	// ErrNoNativeXDP: AttachNative was asked for and the driver has no XDP hook.
	ErrNoNativeXDP = errors.New("afxdp: driver lacks native XDP")
	// ErrNoZeroCopy: BindZeroCopy was asked for and the driver lacks it.
	ErrNoZeroCopy = errors.New("afxdp: driver lacks AF_XDP zero-copy")
	// ErrQueueRange: the queue index is not one of the interface's queues.
	ErrQueueRange = errors.New("afxdp: queue out of range")
	// ErrQueueBusy: another AF_XDP socket is bound to the queue.
	ErrQueueBusy = errors.New("afxdp: queue already has an AF_XDP socket")
	// ErrNoAFXDP: the kernel was built without AF_XDP.
	ErrNoAFXDP = errors.New("afxdp: kernel has no AF_XDP support (CONFIG_XDP_SOCKETS)")
	// ErrBusy: another XDP program is attached to the interface.
	ErrBusy = errors.New("afxdp: interface already has an XDP program attached")
	// ErrMismatch: another queue of the interface is open in this process
	// with different steering (WithAddrs, WithPorts, WithMaxAddrs, as
	// they stand now) or a different attach mode; the queues share one
	// XDP program, so they must agree.
	ErrMismatch = errors.New("afxdp: options differ from those of the interface's other open queues")
)

// classify wraps err with the sentinel its errno stands for in the step
// named by what, so that messages say what failed and why.
func classify(what string, err error) error {
	switch {
	case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES):
		return fmt.Errorf("%s: %w: %w", what, ErrPermission, err)
	case errors.Is(err, unix.EAFNOSUPPORT):
		return fmt.Errorf("%s: %w: %w", what, ErrNoAFXDP, err)
	case errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.ENOMEM):
		return fmt.Errorf("%s: %w: %w", what, ErrMemlock, err)
	case errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EEXIST):
		return fmt.Errorf("%s: %w: %w", what, ErrBusy, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
