package afxdp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/ustack/ustack/link"
)

// Link is an AF_XDP socket on one receive queue of one interface, with
// the XDP program that steers the stack's frames into it (one program per
// interface, shared by the Links on its queues). Recv, Send, MTU,
// HardwareAddr, Pool and Fd follow link.Link's rules (one owning
// goroutine); Close, Stats, AddAddr and RemoveAddr may be called from any
// goroutine.
type Link struct {
	fd        int
	iface     string
	ifindex   int
	queue     int
	mtu       int
	maxFrame  int
	mac       [6]byte
	frameSize uint64
	frameMask uint64
	umem      []byte

	fill, comp, rx, tx *ring
	txFree             []uint64 // UMEM addresses of idle TX frames (a stack)
	needWakeup         bool     // bound with XDP_USE_NEED_WAKEUP
	kickPending        bool     // the last TX kick left frames in the ring
	zeroCopy           bool
	mode               string

	pool *link.Pool
	att  *attachment // the interface's program, shared with its other queues

	state atomic.Int32 // stateIdle, stateBusy (in Recv/Send), stateClosed

	mu      sync.Mutex // orders Stats, AddAddr, RemoveAddr against Close
	closed  bool
	kstats  unix.XDPStatistics // the kernel's counters as last read
	counter struct {
		rxFrames, rxBytes, rxDropped, rxErrors atomic.Uint64
		txFrames, txBytes, txDropped, txErrors atomic.Uint64
	}
}

// A bind that finds the queue busy is retried bindBusyRetries times,
// bindBusyWait apart.
const (
	bindBusyRetries = 50
	bindBusyWait    = 20 * time.Millisecond
)

const (
	stateIdle int32 = iota
	stateBusy
	stateClosed
)

var _ link.Link = (*Link)(nil)

// Open makes an AF_XDP link on receive queue queue of iface, in the
// network namespace of the calling OS thread (lock the goroutine to its
// thread and setns first to open one in another namespace; the link works
// from any thread afterwards). It needs root, or CAP_NET_ADMIN, CAP_BPF
// and CAP_NET_RAW. Frames for the addresses given with WithAddrs (or
// AddAddr later) that arrive on queue reach Recv; all other traffic stays
// with the kernel.
//
// Several Links may be open on different queues of one interface: the
// first loads and attaches the XDP program, later ones register their
// socket in it, and the last Close detaches it. Their steering options
// must then be equal (ErrMismatch otherwise), and a queue that already has
// a Link is ErrQueueBusy.
func Open(iface string, queue int, opts ...Option) (*Link, error) {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	if queue < 0 || queue >= 1<<16 {
		return nil, fmt.Errorf("afxdp: %w: queue %d", ErrQueueRange, queue)
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("afxdp: interface %q: %w", iface, err)
	}
	if len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("afxdp: interface %q is not Ethernet (hardware address %q)", iface, ifi.HardwareAddr)
	}
	maxFrame := ifi.MTU + frameOverhead
	if limit := c.frameSize - xdpHeadroom; maxFrame > limit {
		return nil, fmt.Errorf("afxdp: %s has MTU %d; frames of %d bytes carry at most MTU %d (use WithFrames(4096, n) or lower the MTU)",
			iface, ifi.MTU, c.frameSize, limit-frameOverhead)
	}
	// Kernels before 5.11 charge BPF objects to RLIMIT_MEMLOCK; on later
	// ones this does nothing. A failure shows up as ErrMemlock below.
	_ = rlimit.RemoveMemlock()

	l := &Link{
		iface:     iface,
		ifindex:   ifi.Index,
		queue:     queue,
		mtu:       ifi.MTU,
		maxFrame:  maxFrame,
		frameSize: uint64(c.frameSize),
		frameMask: ^uint64(c.frameSize - 1),
		fd:        -1,
	}
	copy(l.mac[:], ifi.HardwareAddr)
	ok := false
	defer func() {
		if !ok {
			l.teardown()
		}
	}()

	// The queue is reserved (and the interface's program attached if it
	// has none yet) before the socket exists: the queue's frames pass to
	// the kernel until setSocket.
	if l.att, err = acquire(netnsKey(ifi.Index), iface, queue, &c); err != nil {
		return nil, err
	}
	l.mode = l.att.mode
	if err := l.openSocket(&c); err != nil {
		return nil, err
	}
	if err := l.att.setSocket(queue, l.fd); err != nil {
		return nil, err
	}
	pc := c.pool
	if pc.Size == 0 {
		pc.Size = max(2048, maxFrame) // link.PoolConfig's default size
	}
	if pc.Count == 0 {
		pc.Count = c.frameCount
	}
	if l.pool, err = link.NewPool(pc); err != nil {
		return nil, fmt.Errorf("afxdp: %w", err)
	}
	ok = true
	return l, nil
}

// openSocket makes the socket, registers the UMEM, maps the rings and
// binds; in BindAuto mode a failed bind is retried on a fresh socket with
// XDP_COPY.
func (l *Link) openSocket(c *config) error {
	flags := uint16(0)
	if !c.noWakeup {
		flags |= unix.XDP_USE_NEED_WAKEUP
	}
	switch c.bind {
	case BindCopy:
		return l.bindSocket(c, flags|unix.XDP_COPY)
	case BindZeroCopy:
		err := l.bindSocket(c, flags|unix.XDP_ZEROCOPY)
		if err != nil && (errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EPROTONOSUPPORT)) {
			return fmt.Errorf("%w: %w", ErrNoZeroCopy, err)
		}
		return err
	}
	err := l.bindSocket(c, flags)
	if err == nil || errors.Is(err, ErrQueueRange) || errors.Is(err, ErrQueueBusy) || errors.Is(err, ErrPermission) || errors.Is(err, ErrNoAFXDP) {
		return err
	}
	l.closeSocket()
	if err2 := l.bindSocket(c, flags|unix.XDP_COPY); err2 != nil {
		return fmt.Errorf("%w (and with XDP_COPY: %w)", err, err2)
	}
	return nil
}

func (l *Link) bindSocket(c *config, bindFlags uint16) error {
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return classify("afxdp: creating the AF_XDP socket", err)
	}
	l.fd = fd
	size := c.frameSize * c.frameCount
	l.umem, err = unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return classify(fmt.Sprintf("afxdp: mapping %d bytes of UMEM", size), err)
	}
	reg := unix.XDPUmemReg{
		Addr: uint64(uintptr(unsafe.Pointer(&l.umem[0]))),
		Len:  uint64(size),
		Size: uint32(c.frameSize),
	}
	err = setsockopt(fd, unix.SOL_XDP, unix.XDP_UMEM_REG, unsafe.Pointer(&reg), unsafe.Sizeof(reg))
	if errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.ENOMEM) {
		// UMEM pages are charged to RLIMIT_MEMLOCK; lift it if we may.
		if unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}) == nil {
			err = setsockopt(fd, unix.SOL_XDP, unix.XDP_UMEM_REG, unsafe.Pointer(&reg), unsafe.Sizeof(reg))
		}
	}
	if err != nil {
		return classify(fmt.Sprintf("afxdp: registering %d bytes of UMEM", size), err)
	}
	half := c.frameCount / 2
	for _, opt := range []int{unix.XDP_UMEM_FILL_RING, unix.XDP_UMEM_COMPLETION_RING, unix.XDP_RX_RING, unix.XDP_TX_RING} {
		if err := setsockoptInt(fd, opt, half); err != nil {
			return classify("afxdp: sizing the rings", err)
		}
	}
	var off unix.XDPMmapOffsets
	n, err := getsockopt(fd, unix.SOL_XDP, unix.XDP_MMAP_OFFSETS, unsafe.Pointer(&off), unsafe.Sizeof(off))
	if err != nil {
		return classify("afxdp: reading the ring offsets", err)
	}
	if n != unsafe.Sizeof(off) {
		return fmt.Errorf("afxdp: kernel ring layout without flags (%d bytes of offsets): need Linux 5.4 or later", n)
	}
	const descSize = unsafe.Sizeof(unix.XDPDesc{})
	if l.fill, err = mapRing(fd, off.Fr, unix.XDP_UMEM_PGOFF_FILL_RING, uint32(half), 8, "fill"); err != nil {
		return err
	}
	if l.comp, err = mapRing(fd, off.Cr, unix.XDP_UMEM_PGOFF_COMPLETION_RING, uint32(half), 8, "completion"); err != nil {
		return err
	}
	if l.rx, err = mapRing(fd, off.Rx, unix.XDP_PGOFF_RX_RING, uint32(half), descSize, "rx"); err != nil {
		return err
	}
	if l.tx, err = mapRing(fd, off.Tx, unix.XDP_PGOFF_TX_RING, uint32(half), descSize, "tx"); err != nil {
		return err
	}
	// Frames [0, half) receive and all start on the fill ring; frames
	// [half, count) transmit and start idle.
	for i := range uint32(half) {
		l.fill.addrs[i] = uint64(i) * l.frameSize
	}
	l.fill.publish(uint32(half))
	l.txFree = make([]uint64, 0, half)
	for i := c.frameCount - 1; i >= half; i-- {
		l.txFree = append(l.txFree, uint64(i)*l.frameSize)
	}

	sa := unix.SockaddrXDP{Flags: bindFlags, Ifindex: uint32(l.ifindex), QueueID: uint32(l.queue)}
	err = unix.Bind(fd, &sa)
	// A socket closed just before (this link's first attempt, or a link
	// closed and reopened) releases its queue from a kernel work item,
	// a moment after close returns: give it a while.
	for i := 0; errors.Is(err, unix.EBUSY) && i < bindBusyRetries; i++ {
		time.Sleep(bindBusyWait)
		err = unix.Bind(fd, &sa)
	}
	if err != nil {
		if errors.Is(err, unix.EINVAL) {
			if q, ok := RxQueues(l.iface); ok && l.queue >= q {
				return fmt.Errorf("afxdp: binding to %s queue %d: %w: the interface has %d rx queues: %w", l.iface, l.queue, ErrQueueRange, q, err)
			}
		}
		if errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("afxdp: binding to %s queue %d: %w: %w", l.iface, l.queue, ErrQueueBusy, err)
		}
		return classify(fmt.Sprintf("afxdp: binding to %s queue %d (flags %#x)", l.iface, l.queue, bindFlags), err)
	}
	l.needWakeup = bindFlags&unix.XDP_USE_NEED_WAKEUP != 0
	var xo uint32
	if _, err := getsockopt(fd, unix.SOL_XDP, unix.XDP_OPTIONS, unsafe.Pointer(&xo), 4); err == nil {
		l.zeroCopy = xo&unix.XDP_OPTIONS_ZEROCOPY != 0
	}
	return nil
}

func (l *Link) closeSocket() {
	for _, r := range []*ring{l.fill, l.comp, l.rx, l.tx} {
		r.unmap()
	}
	l.fill, l.comp, l.rx, l.tx = nil, nil, nil, nil
	if l.fd >= 0 {
		unix.Close(l.fd)
		l.fd = -1
	}
	if l.umem != nil {
		unix.Munmap(l.umem)
		l.umem = nil
	}
}

// teardown gives up the queue (detaching the program if no other queue of
// the interface has a Link), then releases the socket, its rings and the
// UMEM.
func (l *Link) teardown() error {
	var first error
	if l.att != nil {
		first = l.att.release(l.queue)
		l.att = nil
	}
	l.closeSocket()
	return first
}

// Close takes the socket out of the XDP program (the queue's traffic goes
// to the kernel again), detaches the program if this was the interface's
// last Link, and releases the socket and its memory. It waits for a
// Recv or Send in progress on another goroutine. Closing twice returns
// link.ErrClosed.
func (l *Link) Close() error {
	for !l.state.CompareAndSwap(stateIdle, stateClosed) {
		if l.state.Load() == stateClosed {
			return link.ErrClosed
		}
		runtime.Gosched()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.readKernelStats()
	l.closed = true
	return l.teardown()
}

// AddAddr makes the XDP program steer IPv4 and ARP for a to this link
// (only the listed ports of TCP and UDP if the link was opened WithPorts).
// The program is the interface's: the address is steered on every queue
// that has a Link, each to its own. AddPort, RemovePort and RemoveAddr
// likewise change every queue's steering.
func (l *Link) AddAddr(a netip.Addr) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return link.ErrClosed
	}
	return l.att.addAddr(a)
}

// AddPort adds a destination port to steer. It has an effect only on a
// link opened WithPorts (one that steers by port at all).
func (l *Link) AddPort(proto Proto, port uint16) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return link.ErrClosed
	}
	return l.att.addPort(portRule{proto, port})
}

// RemovePort stops steering a destination port: its traffic goes to the
// kernel again.
func (l *Link) RemovePort(proto Proto, port uint16) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return link.ErrClosed
	}
	return l.att.removePort(portRule{proto, port})
}

// RemoveAddr stops steering a; its frames go to the kernel again.
func (l *Link) RemoveAddr(a netip.Addr) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return link.ErrClosed
	}
	return l.att.removeAddr(a)
}

// Mode is where the XDP program runs: "native" (the driver's hook) or
// "generic" (the SKB hook).
func (l *Link) Mode() string { return l.mode }

// ZeroCopy reports whether the socket is bound in zero-copy mode (the
// driver DMAs straight into the UMEM) rather than copy mode.
func (l *Link) ZeroCopy() bool { return l.zeroCopy }

// Interface is the interface name given to Open.
func (l *Link) Interface() string { return l.iface }

// Queue is the receive queue the socket is bound to.
func (l *Link) Queue() int { return l.queue }

// MTU is the interface's MTU when the link was opened.
func (l *Link) MTU() int { return l.mtu }

// MaxFrame is the longest frame Send accepts: MTU plus an Ethernet header
// and one VLAN tag.
func (l *Link) MaxFrame() int { return l.maxFrame }

// HardwareAddr is the interface's Ethernet address.
func (l *Link) HardwareAddr() [6]byte { return l.mac }

// Pool is the link's buffer pool: Send's frames should come from it, and
// Recv's frames are copied into it.
func (l *Link) Pool() *link.Pool { return l.pool }

// Fd is the AF_XDP socket (non-blocking): poll(2) reports it readable
// when the RX ring holds frames.
func (l *Link) Fd() int { return l.fd }

// readKernelStats refreshes kstats from XDP_STATISTICS; mu must be held.
func (l *Link) readKernelStats() {
	if l.closed || l.fd < 0 {
		return
	}
	var ks unix.XDPStatistics
	if _, err := getsockopt(l.fd, unix.SOL_XDP, unix.XDP_STATISTICS, unsafe.Pointer(&ks), unsafe.Sizeof(ks)); err == nil {
		l.kstats = ks
	}
}

// Stats returns the link's counters, including the kernel's: frames it
// dropped for want of fill-ring frames or RX-ring room count in RxDropped,
// invalid descriptors in RxErrors and TxErrors.
func (l *Link) Stats() link.Stats {
	l.mu.Lock()
	l.readKernelStats()
	ks := l.kstats
	l.mu.Unlock()
	c := &l.counter
	return link.Stats{
		RxFrames:  c.rxFrames.Load(),
		RxBytes:   c.rxBytes.Load(),
		RxDropped: c.rxDropped.Load() + ks.Rx_dropped + ks.Rx_ring_full,
		RxErrors:  c.rxErrors.Load() + ks.Rx_invalid_descs,
		TxFrames:  c.txFrames.Load(),
		TxBytes:   c.txBytes.Load(),
		TxDropped: c.txDropped.Load(),
		TxErrors:  c.txErrors.Load() + ks.Tx_invalid_descs,
	}
}
