package tcp_test

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/internal/netns"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/tap"
	"github.com/ustack/ustack/tcp"
	"github.com/ustack/ustack/tcp/seqnum"
	"github.com/ustack/ustack/wire"
)

// The engine against the real Linux TCP stack: a ustack on a TAP device in
// a private network namespace exchanges 4 MiB each way with the kernel,
// once dialing a kernel listener and once accepting a kernel dial. Both
// sides check every byte, and the kernel's own view of the connection
// (ss -tin) must show the options negotiated as Linux expects.
func TestKernelInterop(t *testing.T) {
	netns.Require(t, "ss")
	var (
		kernelAddr = netip.MustParsePrefix("10.77.9.1/24")
		stackAddr  = netip.MustParsePrefix("10.77.9.2/24")
	)
	ns := netns.New(t).NS()
	var l *tap.Link
	if err := ns.Do(func() (err error) {
		l, err = tap.Open("tap0", tap.WithPool(link.PoolConfig{Count: 4096}))
		return err
	}); err != nil {
		t.Fatalf("tap.Open: %v", err)
	}
	defer l.Close()
	ns.IP("addr", "add", kernelAddr.String(), "dev", "tap0")
	ns.IP("link", "set", "tap0", "up")
	s, err := ustack.New(ustack.Config{Link: l, Addr: stackAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	const size = 4 << 20
	pattern := func(salt byte) []byte {
		p := make([]byte, size)
		for i := range p {
			p[i] = byte(i*7) ^ salt ^ byte(i>>11)
		}
		return p
	}
	up, down := pattern(1), pattern(2)
	// exchange sends mine, half-closes, reads the peer's stream to EOF and
	// checks it.
	exchange := func(who string, c net.Conn, mine, theirs []byte) error {
		werr := make(chan error, 1)
		go func() {
			_, err := c.Write(mine)
			if err == nil {
				err = c.(interface{ CloseWrite() error }).CloseWrite()
			}
			werr <- err
		}()
		c.SetReadDeadline(time.Now().Add(60 * time.Second))
		got, err := io.ReadAll(c)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, theirs) {
			t.Errorf("%s received %d bytes, not the %d sent", who, len(got), len(theirs))
		}
		return <-werr
	}

	// The stack dials a kernel listener.
	var kl net.Listener
	if err := ns.Do(func() (err error) { kl, err = net.Listen("tcp", "10.77.9.1:7000"); return }); err != nil {
		t.Fatal(err)
	}
	defer kl.Close()
	kdone := make(chan error, 1)
	var ssOut []byte
	go func() {
		c, err := kl.Accept()
		if err != nil {
			kdone <- err
			return
		}
		defer c.Close()
		ssOut, _ = ns.Command(5*time.Second, "ss", "-tin", "sport", "=", ":7000").CombinedOutput()
		kdone <- exchange("kernel", c, down, up)
	}()
	c, err := s.Dial("tcp", "10.77.9.1:7000")
	if err != nil {
		t.Fatalf("stack dial: %v", err)
	}
	if err := exchange("stack", c, up, down); err != nil {
		t.Fatalf("stack side: %v", err)
	}
	if err := <-kdone; err != nil {
		t.Fatalf("kernel side: %v", err)
	}
	c.Close()
	t.Logf("kernel's view of the connection:\n%s", ssOut)
	// wscale:8 is the scale we offered; an MSS of 1448 (1460 less the
	// 12-byte timestamp option) means timestamps were negotiated.
	for _, want := range []string{"wscale:8,", " mss:1448 "} {
		if !bytes.Contains(ssOut, []byte(want)) {
			t.Errorf("kernel's view lacks %q (window scale or timestamps not negotiated as Linux expects)", want)
		}
	}

	// The kernel dials a stack listener.
	sl, err := s.Listen("tcp", ":8000")
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	sdone := make(chan error, 1)
	go func() {
		c, err := sl.Accept()
		if err != nil {
			sdone <- err
			return
		}
		defer c.Close()
		sdone <- exchange("stack", c, down, up)
	}()
	var kc net.Conn
	if err := ns.Do(func() (err error) { kc, err = net.DialTimeout("tcp", "10.77.9.2:8000", 5*time.Second); return }); err != nil {
		t.Fatalf("kernel dial: %v", err)
	}
	defer kc.Close()
	if err := exchange("kernel", kc, up, down); err != nil {
		t.Fatalf("kernel side: %v", err)
	}
	if err := <-sdone; err != nil {
		t.Fatalf("stack side: %v", err)
	}
}

// synRecorder keeps the first segment the engine emits.
type synRecorder struct {
	h    wire.TCPHeader
	opts []byte
	done bool
}

func (r *synRecorder) Send(t *tcp.Tuple, h *wire.TCPHeader, o *wire.TCPOptions, p1, p2 []byte) {
	if r.done {
		return
	}
	r.done = true
	r.h = *h
	b := make([]byte, 40)
	n, _ := o.Encode(b)
	r.opts = b[:n]
}

// The SYN the engine sends under the Linux profile is the SYN Linux itself
// sends with the profile's settings: the same window, the same options in
// the same byte layout (timestamp value aside). The kernel's SYN is read
// straight off a TAP device.
func TestSYNMatchesKernel(t *testing.T) {
	netns.Require(t, "ip")
	ns := netns.New(t).NS()
	var l *tap.Link
	if err := ns.Do(func() (err error) {
		l, err = tap.Open("tap0")
		return err
	}); err != nil {
		t.Fatalf("tap.Open: %v", err)
	}
	defer l.Close()
	// The profile's buffers; the window scale follows from the larger of
	// tcp_rmem[2] and the (global) rmem_max.
	ns.Sysctl("net.ipv4.tcp_rmem", "4096 540000 15728640")
	ns.IP("addr", "add", "10.77.8.1/24", "dev", "tap0")
	ns.IP("link", "set", "tap0", "up")
	ns.IP("neigh", "add", "10.77.8.2", "lladdr", "02:00:00:00:00:02", "dev", "tap0")
	go ns.Do(func() error {
		c, err := net.DialTimeout("tcp", "10.77.8.2:80", 2*time.Second)
		if err == nil {
			c.Close()
		}
		return nil
	})
	var ksyn wire.TCP
	bufs := make([]*link.Buf, 16)
	for deadline := time.Now().Add(3 * time.Second); ksyn == nil && time.Now().Before(deadline); {
		n := l.Recv(bufs)
		for _, b := range bufs[:n] {
			if ksyn == nil {
				if e, err := wire.ParseEthernet(b.Bytes()); err == nil && e.EtherType() == wire.EtherTypeIPv4 {
					if ip, err := wire.ParseIPv4(e.Payload()); err == nil && ip.Protocol() == wire.ProtoTCP {
						if th, err := wire.ParseTCP(ip.Payload()); err == nil && th.Flags() == wire.TCPFlagSYN {
							ksyn = append(wire.TCP(nil), th...)
						}
					}
				}
			}
			b.Free()
		}
		if n == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if ksyn == nil {
		t.Fatal("the kernel's SYN never arrived on the TAP device")
	}
	var mine synRecorder
	tuple := tcp.Tuple{Local: netip.MustParseAddrPort("10.77.8.1:40000"), Remote: netip.MustParseAddrPort("10.77.8.2:80")}
	if _, err := tcp.Dial(0, tcp.Linux(), tuple, 1, &mine); err != nil {
		t.Fatal(err)
	}
	kopts := ksyn.Options()
	t.Logf("kernel SYN: win %d options % x", ksyn.Window(), kopts)
	t.Logf("engine SYN: win %d options % x", mine.h.Window, mine.opts)
	if ksyn.Window() != mine.h.Window {
		t.Errorf("SYN window: kernel %d, engine %d", ksyn.Window(), mine.h.Window)
	}
	if len(kopts) != len(mine.opts) {
		t.Fatalf("option lengths differ: kernel %d, engine %d", len(kopts), len(mine.opts))
	}
	for i := range kopts {
		if i >= 8 && i < 12 {
			continue // TSval
		}
		if kopts[i] != mine.opts[i] {
			t.Errorf("option byte %d: kernel %#02x, engine %#02x", i, kopts[i], mine.opts[i])
		}
	}
}

// frameOut is an Output that wraps each segment in Ethernet and IPv4 and
// sends it on a link.
type frameOut struct {
	l        link.Link
	src, dst wire.MAC
	segs     int
	last     wire.TCPHeader
}

func (o *frameOut) Send(t *tcp.Tuple, h *wire.TCPHeader, opts *wire.TCPOptions, p1, p2 []byte) {
	b := o.l.Pool().Get()
	if b == nil {
		return
	}
	f := b.Extend(14 + 20 + 60 + len(p1) + len(p2))
	wire.PutEthernet(f, o.dst, o.src, wire.EtherTypeIPv4)
	n, _ := wire.PutTCP(f[34:], h, opts)
	n += copy(f[34+n:], p1)
	n += copy(f[34+n:], p2)
	wire.TCP(f[34:34+n]).SetChecksum4(t.Local.Addr().As4(), t.Remote.Addr().As4())
	wire.PutIPv4(f[14:], &wire.IPv4Header{TotalLen: uint16(20 + n), TTL: 64, Protocol: wire.ProtoTCP, DF: true, Src: t.Local.Addr(), Dst: t.Remote.Addr()})
	b.SetLen(34 + n)
	o.segs++
	o.last = *h
	if o.l.Send([]*link.Buf{b}) == 0 {
		b.Free()
	}
}

// recvTCP reads frames until a TCP segment satisfying ok arrives.
func recvTCP(t *testing.T, l link.Link, ok func(wire.TCP) bool) (wire.TCP, wire.MAC) {
	t.Helper()
	bufs := make([]*link.Buf, 16)
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		n := l.Recv(bufs)
		var got wire.TCP
		var mac wire.MAC
		for _, b := range bufs[:n] {
			if got == nil {
				if e, err := wire.ParseEthernet(b.Bytes()); err == nil && e.EtherType() == wire.EtherTypeIPv4 {
					if ip, err := wire.ParseIPv4(e.Payload()); err == nil && ip.Protocol() == wire.ProtoTCP {
						if th, err := wire.ParseTCP(ip.Payload()); err == nil && ok(th) {
							got, mac = append(wire.TCP(nil), th...), e.Src()
						}
					}
				}
			}
			b.Free()
		}
		if got != nil {
			return got, mac
		}
		if n == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	t.Fatal("segment never arrived on the TAP device")
	return nil, wire.MAC{}
}

func segmentOf(t *testing.T, th wire.TCP) *tcp.Segment {
	t.Helper()
	s := &tcp.Segment{Seq: seqnum.Value(th.Seq()), Ack: seqnum.Value(th.Ack()), Flags: th.Flags(), Window: th.Window()}
	if err := wire.ParseTCPOptions(th.Options(), &s.Opts); err != nil {
		t.Fatal(err)
	}
	return s
}

// The handshake against the kernel as client: the engine's listener
// answers the kernel's SYN, and the kernel's third segment is compared
// with the one the engine's own client sends for the same SYN,ACK: same
// window, same option layout.
func TestHandshakeMatchesKernel(t *testing.T) {
	netns.Require(t, "ip")
	ns := netns.New(t).NS()
	var l *tap.Link
	if err := ns.Do(func() (err error) { l, err = tap.Open("tap0"); return err }); err != nil {
		t.Fatalf("tap.Open: %v", err)
	}
	defer l.Close()
	ns.Sysctl("net.ipv4.tcp_rmem", "4096 540000 15728640")
	ns.IP("addr", "add", "10.77.7.1/24", "dev", "tap0")
	ns.IP("link", "set", "tap0", "up")
	ns.IP("neigh", "add", "10.77.7.2", "lladdr", "02:00:00:00:00:02", "dev", "tap0")
	done := make(chan struct{})
	defer close(done)
	go ns.Do(func() error {
		c, err := net.DialTimeout("tcp", "10.77.7.2:80", 3*time.Second)
		if err == nil {
			<-done
			c.Close()
		}
		return nil
	})
	ksyn, kmac := recvTCP(t, l, func(th wire.TCP) bool { return th.Flags() == wire.TCPFlagSYN })
	server := tcp.Tuple{Local: netip.MustParseAddrPort("10.77.7.2:80"), Remote: netip.AddrPortFrom(netip.MustParseAddr("10.77.7.1"), ksyn.SrcPort())}
	out := &frameOut{l: l, src: wire.MAC{2, 0, 0, 0, 0, 2}, dst: kmac}
	ln, err := tcp.NewListener(tcp.Linux(), server.Local, tcp.NewSecrets([16]byte{5}))
	if err != nil {
		t.Fatal(err)
	}
	ln.Input(0, server.Local, server.Remote, segmentOf(t, ksyn), nil, out)
	if out.segs != 1 {
		t.Fatal("the listener did not answer")
	}
	synack := out.last
	kack, _ := recvTCP(t, l, func(th wire.TCP) bool { return th.Flags() == wire.TCPFlagACK })

	// The engine as the client, given the same SYN,ACK.
	var mine synRecorder
	client := tcp.Tuple{Local: server.Remote, Remote: server.Local}
	c, err := tcp.Dial(0, tcp.Linux(), client, seqnum.Value(ksyn.Seq()), &mine)
	if err != nil {
		t.Fatal(err)
	}
	mine.done = false
	sa := &tcp.Segment{Seq: seqnum.Value(synack.Seq), Ack: seqnum.Value(synack.Ack), Flags: synack.Flags, Window: synack.Window}
	sa.Opts = wire.TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTS: true, TSVal: 1, TSEcr: 1, HasWScale: true, WScale: 8}
	c.Input(time.Millisecond, sa, nil, &mine)
	t.Logf("kernel ACK: win %d options % x", kack.Window(), kack.Options())
	t.Logf("engine ACK: win %d options % x", mine.h.Window, mine.opts)
	if kack.Window() != mine.h.Window {
		t.Errorf("third segment window: kernel %d, engine %d", kack.Window(), mine.h.Window)
	}
	if ko := kack.Options(); len(ko) != len(mine.opts) || len(ko) < 4 || !bytes.Equal(ko[:4], mine.opts[:4]) {
		t.Errorf("third segment options: kernel % x, engine % x", ko, mine.opts)
	}
}

// The kernel as server: the engine's SYN goes to a kernel listener, and the
// kernel's SYN,ACK is compared with the engine listener's answer to the
// same SYN: same window, same options in the same layout.
func TestSynAckMatchesKernel(t *testing.T) {
	netns.Require(t, "ip")
	ns := netns.New(t).NS()
	var l *tap.Link
	if err := ns.Do(func() (err error) { l, err = tap.Open("tap0"); return err }); err != nil {
		t.Fatalf("tap.Open: %v", err)
	}
	defer l.Close()
	ns.Sysctl("net.ipv4.tcp_rmem", "4096 540000 15728640")
	ns.IP("addr", "add", "10.77.6.1/24", "dev", "tap0")
	ns.IP("link", "set", "tap0", "up")
	ns.IP("neigh", "add", "10.77.6.2", "lladdr", "02:00:00:00:00:02", "dev", "tap0")
	var kl net.Listener
	if err := ns.Do(func() (err error) { kl, err = net.Listen("tcp", "10.77.6.1:7000"); return }); err != nil {
		t.Fatal(err)
	}
	defer kl.Close()
	// The kernel's MAC, from its interface in the namespace.
	var kmac wire.MAC
	if err := ns.Do(func() error {
		ifc, err := net.InterfaceByName("tap0")
		if err == nil {
			copy(kmac[:], ifc.HardwareAddr)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	client := tcp.Tuple{Local: netip.MustParseAddrPort("10.77.6.2:40000"), Remote: netip.MustParseAddrPort("10.77.6.1:7000")}
	out := &frameOut{l: l, src: wire.MAC{2, 0, 0, 0, 0, 2}, dst: kmac}
	var syn synRecorder
	if _, err := tcp.Dial(0, tcp.Linux(), client, 1000, &syn); err != nil {
		t.Fatal(err)
	}
	if _, err := tcp.Dial(0, tcp.Linux(), client, 1000, out); err != nil { // the same SYN, onto the wire
		t.Fatal(err)
	}
	ksa, _ := recvTCP(t, l, func(th wire.TCP) bool { return th.Flags() == wire.TCPFlagSYN|wire.TCPFlagACK })

	// The engine's listener answers the same SYN.
	var mine synRecorder
	ln, err := tcp.NewListener(tcp.Linux(), client.Remote, tcp.NewSecrets([16]byte{6}))
	if err != nil {
		t.Fatal(err)
	}
	seg := &tcp.Segment{Seq: 1000, Flags: wire.TCPFlagSYN, Window: syn.h.Window}
	if err := wire.ParseTCPOptions(syn.opts, &seg.Opts); err != nil {
		t.Fatal(err)
	}
	ln.Input(0, client.Remote, client.Local, seg, nil, &mine)
	ko := ksa.Options()
	t.Logf("kernel SYN,ACK: win %d options % x", ksa.Window(), ko)
	t.Logf("engine SYN,ACK: win %d options % x", mine.h.Window, mine.opts)
	if ksa.Window() != mine.h.Window {
		t.Errorf("SYN,ACK window: kernel %d, engine %d", ksa.Window(), mine.h.Window)
	}
	if len(ko) != len(mine.opts) {
		t.Fatalf("option lengths differ")
	}
	for i := range ko {
		if i >= 8 && i < 16 {
			continue // TSval, TSecr
		}
		if ko[i] != mine.opts[i] {
			t.Errorf("option byte %d: kernel %#02x, engine %#02x", i, ko[i], mine.opts[i])
		}
	}
}
