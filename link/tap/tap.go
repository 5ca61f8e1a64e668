package tap

import (
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/tap/vnet"
)

// Limits.
const (
	// MinMTU is the smallest MTU accepted (the IPv4 minimum).
	MinMTU = 68
	// MaxMTU is the largest MTU accepted.
	MaxMTU = 65535
	// gsoFrame is the largest frame with GSO offload: a 64 KiB IP packet
	// with Ethernet and VLAN headers.
	gsoFrame = 65535 + 18
)

// ErrNoDevice is wrapped when /dev/net/tun is missing.
var ErrNoDevice = errors.New("tap: /dev/net/tun not found")

// Link is a TAP link. Recv and Send belong to one goroutine; Close may be
// called from any.
type Link struct {
	fd      int
	name    string
	mtu     int
	mac     [6]byte
	pool    *link.Pool
	vnet    bool
	maxRead int // frame bytes a read may return (without the vnet header)
	maxTx   int

	iov   [2]unix.Iovec // Send's scratch for writev
	vhdr  [vnet.Len]byte
	rx    atomic.Int32 // gates like afpacket's: 0 idle, 1 busy, 2 closed
	tx    atomic.Int32
	close atomic.Bool

	rxFrames, rxBytes, rxDropped, rxErrors atomic.Uint64
	txFrames, txBytes, txDropped, txErrors atomic.Uint64
}

var (
	_ link.Link = (*Link)(nil)
	_ link.GSO  = (*Link)(nil)
)

// Open creates or attaches TAP device name in the calling thread's network
// namespace. It needs root or CAP_NET_ADMIN.
func Open(name string, opts ...Option) (*Link, error) {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if name == "" || len(name) > unix.IFNAMSIZ-1 {
		return nil, fmt.Errorf("tap: device name %q must be 1 to %d bytes", name, unix.IFNAMSIZ-1)
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
			return nil, fmt.Errorf("%w: load the tun module (modprobe tun) or create the node (mknod /dev/net/tun c 10 200): %w", ErrNoDevice, err)
		case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
			return nil, fmt.Errorf("tap: opening /dev/net/tun needs root or CAP_NET_ADMIN: %w", err)
		}
		return nil, fmt.Errorf("tap: open /dev/net/tun: %w", err)
	}
	l := &Link{fd: fd, name: name, vnet: c.vnetHdr}
	if err := l.setup(&c); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return l, nil
}

// OpenQueues opens n queues of multi-queue TAP device name, one Link per
// queue (WithMultiQueue is implied). Each link has its own pool and MAC
// unless WithHardwareAddr is given; give all of them one MAC for one
// stack address.
func OpenQueues(name string, n int, opts ...Option) ([]*Link, error) {
	if n < 1 || n > 256 {
		return nil, fmt.Errorf("tap: queue count %d out of range [1, 256]", n)
	}
	opts = append(opts[:len(opts):len(opts)], WithMultiQueue())
	ls := make([]*Link, 0, n)
	for i := 0; i < n; i++ {
		l, err := Open(name, opts...)
		if err != nil {
			for _, x := range ls {
				x.Close()
			}
			return nil, fmt.Errorf("tap: queue %d of %s: %w", i, name, err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

func (l *Link) setup(c *config) error {
	ifr, err := unix.NewIfreq(l.name)
	if err != nil {
		return fmt.Errorf("tap: device name %q: %w", l.name, err)
	}
	flags := uint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if c.vnetHdr {
		flags |= unix.IFF_VNET_HDR
	}
	if c.multiQueue {
		flags |= unix.IFF_MULTI_QUEUE
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(l.fd, unix.TUNSETIFF, ifr); err != nil {
		switch {
		case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
			return fmt.Errorf("tap: creating or attaching %s needs root or CAP_NET_ADMIN: %w", l.name, err)
		case errors.Is(err, unix.EBUSY):
			return fmt.Errorf("tap: %s is busy: another process has it open (or it is not multi-queue and a queue is attached); close it or use another name: %w", l.name, err)
		case errors.Is(err, unix.EINVAL):
			return fmt.Errorf("tap: %s exists with other settings (a TUN device, or multi-queue mismatch; see `ip -d link show %s`): %w", l.name, l.name, err)
		}
		return fmt.Errorf("tap: TUNSETIFF %s: %w", l.name, err)
	}
	if c.vnetHdr {
		if err := unix.IoctlSetPointerInt(l.fd, unix.TUNSETVNETHDRSZ, vnet.Len); err != nil {
			return fmt.Errorf("tap: TUNSETVNETHDRSZ: %w", err)
		}
		off := 0
		if c.offload {
			off = unix.TUN_F_CSUM
			if c.gso {
				off |= unix.TUN_F_TSO4 | unix.TUN_F_TSO6
			}
		}
		// Always say what we accept: with 0 the kernel finishes every
		// checksum and segments everything before handing it over.
		if err := unix.IoctlSetInt(l.fd, unix.TUNSETOFFLOAD, off); err != nil {
			return fmt.Errorf("tap: TUNSETOFFLOAD %#x: %w", off, err)
		}
	}

	l.mtu = c.mtu
	if l.mtu == 0 {
		if l.mtu, err = ifMTU(l.name); err != nil {
			return err
		}
	}
	if l.mtu < MinMTU || l.mtu > MaxMTU {
		return fmt.Errorf("tap: MTU %d out of range [%d, %d]", l.mtu, MinMTU, MaxMTU)
	}
	l.maxRead = l.mtu + 18
	l.maxTx = l.mtu + 18
	if c.vnetHdr {
		l.maxTx = gsoFrame // the kernel cuts GSO frames
	}
	if c.gso {
		l.maxRead = gsoFrame
	}
	if c.macSet {
		l.mac = c.mac
	} else {
		if _, err := rand.Read(l.mac[:]); err != nil {
			return fmt.Errorf("tap: random MAC: %w", err)
		}
		l.mac[0] = l.mac[0]&^1 | 2 // unicast, locally administered
	}
	need := l.maxRead
	if c.vnetHdr {
		need += vnet.Len
	}
	pc := c.pool
	if pc.Size == 0 {
		pc.Size = max(2048, need)
	}
	if pc.Size < need {
		return fmt.Errorf("tap: pool buffer size %d cannot hold a %d-byte read (raise PoolConfig.Size or lower the MTU)", pc.Size, need)
	}
	if l.pool, err = link.NewPool(pc); err != nil {
		return fmt.Errorf("tap: %w", err)
	}
	return nil
}

// ifMTU reads the device's MTU with SIOCGIFMTU.
func ifMTU(name string) (int, error) {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("tap: socket for SIOCGIFMTU: %w", err)
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFMTU, ifr); err != nil {
		return 0, fmt.Errorf("tap: SIOCGIFMTU %s: %w", name, err)
	}
	return int(ifr.Uint32()), nil
}

func enter(g *atomic.Int32) bool { return g.CompareAndSwap(0, 1) }
func leave(g *atomic.Int32)      { g.Store(0) }
func shut(g *atomic.Int32) {
	for !g.CompareAndSwap(0, 2) {
		if g.Load() == 2 {
			return
		}
		runtime.Gosched()
	}
}

// Recv reads up to len(bufs) frames. It stops at the first read that
// would block, and when the pool is empty (frames then stay queued in the
// kernel, which drops them when its queue overflows; Pool().Misses
// counts the empty pool).
func (l *Link) Recv(bufs []*link.Buf) int {
	if len(bufs) == 0 || !enter(&l.rx) {
		return 0
	}
	n, bytes := 0, 0
	hdr := 0
	if l.vnet {
		hdr = vnet.Len
	}
	for n < len(bufs) {
		b := l.pool.Get()
		if b == nil {
			break
		}
		d := b.Extend(l.maxRead + hdr) // never nil: setup checked the pool's size
		r, _, e := unix.Syscall(unix.SYS_READ, uintptr(l.fd), uintptr(unsafe.Pointer(&d[0])), uintptr(len(d)))
		if e != 0 {
			b.Free()
			if e != syscall.EAGAIN && e != syscall.EINTR {
				l.rxErrors.Add(1) // EBADFD/EIO: device gone or down
			}
			break
		}
		m := int(r)
		if m < hdr+14 {
			b.Free()
			l.rxErrors.Add(1)
			continue
		}
		b.SetLen(m)
		if hdr != 0 {
			h, _ := vnet.Decode(d)
			b.TrimFront(hdr)
			if err := vnet.Apply(h, b); err != nil {
				b.Free()
				l.rxErrors.Add(1)
				continue
			}
		}
		bufs[n] = b
		bytes += b.Len()
		n++
	}
	leave(&l.rx)
	if n > 0 {
		l.rxFrames.Add(uint64(n))
		l.rxBytes.Add(uint64(bytes))
	}
	return n
}

// Send writes each frame with one system call. It takes every frame it
// reports; frames that are malformed or fail to write (other than with
// EAGAIN) are freed and counted in TxErrors. It stops at EAGAIN (the
// device's queue is full), leaving the rest with the caller.
func (l *Link) Send(bufs []*link.Buf) int {
	if len(bufs) == 0 || !enter(&l.tx) {
		return 0
	}
	n, sent, bytes := 0, 0, 0
	for ; n < len(bufs); n++ {
		b := bufs[n]
		if b == nil {
			break
		}
		f := b.Bytes()
		if len(f) < 14 || len(f) > l.maxTx || (!l.vnet && b.Flags&link.FlagGSO != 0) {
			l.txErrors.Add(1)
			b.Free()
			continue
		}
		var e syscall.Errno
		if l.vnet {
			h, err := vnet.FromBuf(b)
			if err != nil {
				l.txErrors.Add(1)
				b.Free()
				continue
			}
			h.Encode(l.vhdr[:])
			l.iov[0].Base = &l.vhdr[0]
			l.iov[0].SetLen(vnet.Len)
			l.iov[1].Base = &f[0]
			l.iov[1].SetLen(len(f))
			_, _, e = unix.Syscall(unix.SYS_WRITEV, uintptr(l.fd), uintptr(unsafe.Pointer(&l.iov[0])), 2)
		} else {
			if b.Flags&link.FlagCsumPartial != 0 {
				start, _, off, ok := vnet.L4(f)
				if !ok || !vnet.Complete(f, start, off) {
					l.txErrors.Add(1)
					b.Free()
					continue
				}
			}
			_, _, e = unix.Syscall(unix.SYS_WRITE, uintptr(l.fd), uintptr(unsafe.Pointer(&f[0])), uintptr(len(f)))
		}
		if e == syscall.EAGAIN {
			break
		}
		if e != 0 {
			l.txErrors.Add(1) // EIO: the device is down
		} else {
			sent++
			bytes += len(f)
		}
		b.Free()
	}
	leave(&l.tx)
	if sent > 0 {
		l.txFrames.Add(uint64(sent))
		l.txBytes.Add(uint64(bytes))
	}
	if rest := len(bufs) - n; rest > 0 {
		l.txDropped.Add(uint64(rest))
	}
	return n
}

// Close detaches from the device (which disappears unless persistent).
func (l *Link) Close() error {
	if !l.close.CompareAndSwap(false, true) {
		return link.ErrClosed
	}
	shut(&l.rx)
	shut(&l.tx)
	return unix.Close(l.fd)
}

// MTU is the device's MTU (or WithMTU's).
func (l *Link) MTU() int { return l.mtu }

// MaxFrame is the largest frame Send accepts: MTU+18, or 64 KiB with a
// vnet header (the kernel cuts GSO frames).
func (l *Link) MaxFrame() int { return l.maxTx }

// HardwareAddr is the stack's MAC (not the kernel side's).
func (l *Link) HardwareAddr() [6]byte { return l.mac }

// Pool is the link's buffer pool.
func (l *Link) Pool() *link.Pool { return l.pool }

// Fd is the TAP descriptor, readable when frames wait; -1 after Close.
func (l *Link) Fd() int {
	if l.close.Load() {
		return -1
	}
	return l.fd
}

// Name is the device name.
func (l *Link) Name() string { return l.name }

// Stats returns the counters.
func (l *Link) Stats() link.Stats {
	return link.Stats{
		RxFrames:  l.rxFrames.Load(),
		RxBytes:   l.rxBytes.Load(),
		RxDropped: l.rxDropped.Load(),
		RxErrors:  l.rxErrors.Load(),
		TxFrames:  l.txFrames.Load(),
		TxBytes:   l.txBytes.Load(),
		TxDropped: l.txDropped.Load(),
		TxErrors:  l.txErrors.Load(),
	}
}
