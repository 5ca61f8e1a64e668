package afxdp

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Raw system calls: they return a bare Errno (no allocation for any
// errno) and take pointers the x/sys wrappers do not accept.

func setsockopt(fd, level, opt int, p unsafe.Pointer, n uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(p), n, 0)
	if e != 0 {
		return e
	}
	return nil
}

func getsockopt(fd, level, opt int, p unsafe.Pointer, n uintptr) (uintptr, error) {
	l := uint32(n)
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(p), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return 0, e
	}
	return uintptr(l), nil
}

func setsockoptInt(fd, opt, v int) error {
	x := uint32(v)
	return setsockopt(fd, unix.SOL_XDP, opt, unsafe.Pointer(&x), 4)
}

// kickTX asks the kernel to transmit what the TX ring holds
// (sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0)).
func kickTX(fd int) unix.Errno {
	_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	return e
}

// kickRX wakes a driver waiting for fill-ring entries
// (recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL)).
func kickRX(fd int) unix.Errno {
	_, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	return e
}

// ethtool ETHTOOL_GCHANNELS, used only to explain a bind that failed.
const (
	ethtoolGChannels = 0x3c
	siocEthtool      = 0x8946
)

type ethtoolChannels struct {
	cmd                                         uint32
	maxRx, maxTx, maxOther, maxCombined         uint32
	rxCount, txCount, otherCount, combinedCount uint32
}

type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [16]byte // the rest of the ifreq union
}

// RxQueues asks the driver (ETHTOOL_GCHANNELS, as `ethtool -l` does) how
// many receive queues iface has: its rx-only plus its combined channels.
// ok is false when the driver does not say. Queue numbers given to Open
// must be below it.
func RxQueues(iface string) (n int, ok bool) {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	defer unix.Close(s)
	ch := ethtoolChannels{cmd: ethtoolGChannels}
	var ifr ifreqData
	copy(ifr.name[:unix.IFNAMSIZ-1], iface)
	ifr.data = unsafe.Pointer(&ch)
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(s), siocEthtool, uintptr(unsafe.Pointer(&ifr)))
	if e != 0 {
		return 0, false
	}
	n = int(ch.rxCount + ch.combinedCount)
	return n, n > 0
}
