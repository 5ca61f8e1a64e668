package afpacket

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/tap/vnet"
)

// Link is an AF_PACKET link. See the package documentation.
type Link struct {
	fd      int
	ifindex int
	name    string
	mtu     int
	mac     [6]byte
	pool    *link.Pool
	v3      bool
	vnet    bool

	mem       []byte // the whole mapping: RX ring then TX ring
	rx, tx    []byte
	frameSize int
	rxFrames  int // V2: RX slots
	txFrames  int
	blockSize int // V3: RX block size
	rxBlocks  int
	maxTx     int // largest frame Send accepts (without the vnet header)

	// Owner-goroutine state.
	rxHead  int // V2: next RX slot; V3: current block
	blkIdx  int // V3: packets consumed in the current block
	blkOff  int // V3: offset of the next packet in the current block
	txHead  int
	kickDue bool // a kick failed with EAGAIN/ENOBUFS: retry it

	rxGate, txGate, statGate gate
	closed                   atomic.Bool

	rxFrames64, rxBytes, rxDropped, rxErrors atomic.Uint64
	txFrames64, txBytes, txDropped, txErrors atomic.Uint64
}

var (
	_ link.Link = (*Link)(nil)
	_ link.GSO  = (*Link)(nil)
)

// Open makes an AF_PACKET link on interface iface of the calling thread's
// network namespace. It needs root or CAP_NET_RAW.
func Open(iface string, opts ...Option) (*Link, error) {
	c := config{}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.rxFrames == 0 {
		c.rxFrames = DefaultFrames
	}
	if c.txFrames == 0 {
		c.txFrames = DefaultFrames
	}
	if c.blockTimeout == 0 {
		c.blockTimeout = DefaultBlockTimeout
	}
	for _, n := range []int{c.rxFrames, c.txFrames} {
		if n < 8 || n > MaxFrames || n&(n-1) != 0 {
			return nil, fmt.Errorf("afpacket: ring size %d is not a power of two in [8, %d] (WithRing)", n, MaxFrames)
		}
	}
	if c.frameSize != 0 && (c.frameSize < 2048 || c.frameSize > MaxFrameSize || c.frameSize&(c.frameSize-1) != 0) {
		return nil, fmt.Errorf("afpacket: frame size %d is not a power of two in [2048, %d] (WithFrameSize)", c.frameSize, MaxFrameSize)
	}
	if c.blockTimeout < 0 || c.blockTimeout > time.Minute {
		return nil, fmt.Errorf("afpacket: V3 block timeout %v out of range (0, 1m]", c.blockTimeout)
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("afpacket: interface %q not found in this network namespace (see `ip link show`): %w", iface, err)
	}
	mtu := ifi.MTU
	if c.mtu != 0 {
		if c.mtu < 68 || c.mtu > mtu {
			return nil, fmt.Errorf("afpacket: MTU %d out of range [68, %d] (the interface's MTU)", c.mtu, mtu)
		}
		mtu = c.mtu
	}
	l := &Link{ifindex: ifi.Index, name: iface, mtu: mtu, v3: c.v3, vnet: c.vnetHdr, fd: -1}
	switch {
	case c.macSet:
		l.mac = c.mac
	case len(ifi.HardwareAddr) == 6:
		copy(l.mac[:], ifi.HardwareAddr)
	default:
		return nil, fmt.Errorf("afpacket: interface %q has no Ethernet address (%v); use an Ethernet-like interface or WithHardwareAddr", iface, ifi.HardwareAddr)
	}

	// Slot size: ring header, sockaddr_ll, the kernel's alignment slack
	// and vnet header, then the frame with a VLAN tag.
	need := alignUp(v3HdrSize+sllSize+16, tpAlign) + vnet.Len + tpAlign + mtu + 18
	fs := c.frameSize
	if fs == 0 {
		fs = 2048
		for fs < need {
			fs <<= 1
		}
	} else if fs < need {
		return nil, fmt.Errorf("afpacket: frame size %d too small for MTU %d (need %d; WithFrameSize)", fs, mtu, need)
	}
	l.frameSize = fs
	l.rxFrames, l.txFrames = c.rxFrames, c.txFrames
	hdr := v2TxData
	if c.v3 {
		hdr = v3TxData
	}
	l.maxTx = fs - hdr
	if c.vnetHdr {
		l.maxTx -= vnet.Len
	}
	if !c.vnetHdr && l.maxTx > mtu+18 {
		l.maxTx = mtu + 18
	}

	pc := c.pool
	if pc.Size == 0 {
		pc.Size = max(2048, fs)
	}
	if l.pool, err = link.NewPool(pc); err != nil {
		return nil, fmt.Errorf("afpacket: %w", err)
	}
	if err := l.open(&c); err != nil {
		l.release()
		return nil, err
	}
	return l, nil
}

func (l *Link) open(c *config) error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return fmt.Errorf("afpacket: opening an AF_PACKET socket needs root or CAP_NET_RAW: %w", err)
		}
		return fmt.Errorf("afpacket: socket: %w", err)
	}
	l.fd = fd
	version := unix.TPACKET_V2
	if c.v3 {
		version = unix.TPACKET_V3
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, version); err != nil {
		return fmt.Errorf("afpacket: PACKET_VERSION %d: %w", version+1, err)
	}
	if c.vnetHdr {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
			return fmt.Errorf("afpacket: PACKET_VNET_HDR (drop WithVnetHdr on this kernel): %w", err)
		}
	}
	if c.qdiscBypass {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
			return fmt.Errorf("afpacket: PACKET_QDISC_BYPASS (drop WithQdiscBypass on this kernel): %w", err)
		}
	}
	// Our own transmissions and the host's must not come back as input;
	// Recv also filters PACKET_OUTGOING in case the option is missing.
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)

	page := unix.Getpagesize()
	var rxBytes int
	if c.v3 {
		bs := max(page, 1<<17)
		for bs < l.frameSize*8 {
			bs <<= 1
		}
		l.blockSize = bs
		l.rxBlocks = max(2, l.rxFrames*l.frameSize/bs)
		req := unix.TpacketReq3{
			Block_size:     uint32(bs),
			Block_nr:       uint32(l.rxBlocks),
			Frame_size:     uint32(l.frameSize),
			Frame_nr:       uint32(bs / l.frameSize * l.rxBlocks),
			Retire_blk_tov: uint32((c.blockTimeout + time.Millisecond - 1) / time.Millisecond),
		}
		if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
			return ringErr("RX", err)
		}
		rxBytes = bs * l.rxBlocks
		treq := l.txReq(page)
		tr3 := unix.TpacketReq3{Block_size: treq.Block_size, Block_nr: treq.Block_nr, Frame_size: treq.Frame_size, Frame_nr: treq.Frame_nr}
		if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_TX_RING, &tr3); err != nil {
			return ringErr("TX", err)
		}
	} else {
		req := ringReq(l.frameSize, l.rxFrames, page)
		if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
			return ringErr("RX", err)
		}
		rxBytes = int(req.Block_size * req.Block_nr)
		treq := l.txReq(page)
		if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_TX_RING, &treq); err != nil {
			return ringErr("TX", err)
		}
	}
	total := rxBytes + l.frameSize*l.txFrames
	mem, err := unix.Mmap(fd, 0, total, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("afpacket: mmap of %d bytes of rings: %w (lower WithRing or WithFrameSize)", total, err)
	}
	l.mem, l.rx, l.tx = mem, mem[:rxBytes:rxBytes], mem[rxBytes:]

	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: l.ifindex}
	if err := unix.Bind(fd, sa); err != nil {
		return fmt.Errorf("afpacket: bind to %s: %w", l.name, err)
	}
	if c.fanout {
		arg := int(c.fanoutGroup) | unix.PACKET_FANOUT_HASH<<16
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_FANOUT, arg); err != nil {
			return fmt.Errorf("afpacket: PACKET_FANOUT group %d (every member must use the same options): %w", c.fanoutGroup, err)
		}
	}
	if c.promisc {
		mr := unix.PacketMreq{Ifindex: int32(l.ifindex), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mr); err != nil {
			return fmt.Errorf("afpacket: promiscuous mode on %s: %w", l.name, err)
		}
	}
	// Drop counters start now.
	_, _ = unix.GetsockoptTpacketStats(fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_LOSS, 1)
	return nil
}

// ringReq lays out frames slots of size fs in page-multiple blocks.
func ringReq(fs, frames, page int) unix.TpacketReq {
	bs := max(fs, page)
	per := bs / fs
	return unix.TpacketReq{
		Block_size: uint32(bs),
		Block_nr:   uint32((frames + per - 1) / per),
		Frame_size: uint32(fs),
		Frame_nr:   uint32(frames),
	}
}

func (l *Link) txReq(page int) unix.TpacketReq { return ringReq(l.frameSize, l.txFrames, page) }

func ringErr(which string, err error) error {
	switch {
	case errors.Is(err, unix.ENOMEM):
		return fmt.Errorf("afpacket: %s ring: out of memory (lower WithRing or WithFrameSize): %w", which, err)
	case errors.Is(err, unix.EINVAL):
		return fmt.Errorf("afpacket: %s ring refused by the kernel (sizes or TPACKET version unsupported): %w", which, err)
	}
	return fmt.Errorf("afpacket: %s ring: %w", which, err)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// release frees what Open made; used on Open's error paths and by Close.
func (l *Link) release() error {
	var err error
	if l.mem != nil {
		err = unix.Munmap(l.mem)
		l.mem, l.rx, l.tx = nil, nil, nil
	}
	if l.fd >= 0 {
		if e := unix.Close(l.fd); err == nil {
			err = e
		}
		l.fd = -1
	}
	return err
}

// Close releases the socket and its rings. Frames still in the TX ring
// may not be sent. It may be called from any goroutine.
func (l *Link) Close() error {
	if !l.closed.CompareAndSwap(false, true) {
		return link.ErrClosed
	}
	l.rxGate.shut()
	l.txGate.shut()
	l.statGate.shut()
	return l.release()
}

// MTU is the interface's MTU (or WithMTU's).
func (l *Link) MTU() int { return l.mtu }

// MaxFrame is the largest frame Send accepts: MTU+18 without a vnet
// header, the ring slot's capacity with one.
func (l *Link) MaxFrame() int { return l.maxTx }

// HardwareAddr is the interface's MAC unless WithHardwareAddr set one.
func (l *Link) HardwareAddr() [6]byte { return l.mac }

// Pool is the link's buffer pool.
func (l *Link) Pool() *link.Pool { return l.pool }

// Fd is the packet socket; it polls readable when the RX ring has frames.
// It is -1 after Close.
func (l *Link) Fd() int {
	if l.closed.Load() {
		return -1
	}
	return l.fd
}

// Name is the interface the link is bound to.
func (l *Link) Name() string { return l.name }

// Stats returns the counters. RxDropped includes the kernel's count of
// frames lost because the RX ring was full (PACKET_STATISTICS).
func (l *Link) Stats() link.Stats {
	if l.statGate.enter() {
		if st, err := unix.GetsockoptTpacketStats(l.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
			l.rxDropped.Add(uint64(st.Drops))
		}
		l.statGate.leave()
	}
	return link.Stats{
		RxFrames:  l.rxFrames64.Load(),
		RxBytes:   l.rxBytes.Load(),
		RxDropped: l.rxDropped.Load(),
		RxErrors:  l.rxErrors.Load(),
		TxFrames:  l.txFrames64.Load(),
		TxBytes:   l.txBytes.Load(),
		TxDropped: l.txDropped.Load(),
		TxErrors:  l.txErrors.Load(),
	}
}
