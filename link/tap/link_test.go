package tap_test

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ustack/ustack/internal/netns"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/afpacket"
	"github.com/ustack/ustack/link/tap"
	"github.com/ustack/ustack/wire"
)

const testType = 0x88b5

// tapAndPeer opens TAP device tap0 in a fresh namespace and an AF_PACKET
// link on the device's kernel side, so frames can be moved both ways.
func tapAndPeer(t testing.TB, tapOpts []tap.Option, peerOpts []afpacket.Option) (*netns.NS, *tap.Link, *afpacket.Link) {
	t.Helper()
	netns.Require(t)
	ns := netns.New(t).NS()
	var l *tap.Link
	var p *afpacket.Link
	err := ns.Do(func() (err error) {
		if l, err = tap.Open("tap0", tapOpts...); err != nil {
			return err
		}
		if _, err = upLink("tap0"); err != nil {
			return err
		}
		p, err = afpacket.Open("tap0", peerOpts...)
		return err
	})
	if err != nil {
		t.Fatalf("opening tap0 and its peer: %v", err)
	}
	t.Cleanup(func() { p.Close(); l.Close() })
	return ns, l, p
}

// upLink brings an interface up with SIOCSIFFLAGS (we are inside the
// namespace already, on a locked thread).
func upLink(name string) (int, error) {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return 0, err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return 0, unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr)
}

func frame(t testing.TB, l link.Link, dst [6]byte, seq uint32, n int) *link.Buf {
	b := l.Pool().Get()
	if b == nil {
		t.Fatal("pool empty")
	}
	d := b.Extend(n)
	src := l.HardwareAddr()
	copy(d[0:6], dst[:])
	copy(d[6:12], src[:])
	binary.BigEndian.PutUint16(d[12:], testType)
	binary.BigEndian.PutUint32(d[14:], seq)
	for i := 18; i < n; i++ {
		d[i] = byte(seq) + byte(i)
	}
	return b
}

func waitReadable(l link.Link, d time.Duration) {
	p := []unix.PollFd{{Fd: int32(l.Fd()), Events: unix.POLLIN}}
	unix.Poll(p, int(d/time.Millisecond))
}

func sendAll(t testing.TB, tx link.Link, dst [6]byte, count int, size func(uint32) int) {
	t.Helper()
	sent := 0
	out := make([]*link.Buf, 0, 32)
	for tries := 0; sent < count && tries < 1000; tries++ {
		out = out[:0]
		for i := sent; i < min(sent+32, count); i++ {
			out = append(out, frame(t, tx, dst, uint32(i), size(uint32(i))))
		}
		n := tx.Send(out)
		for _, f := range out[n:] {
			f.Free()
		}
		sent += n
		if n < len(out) {
			time.Sleep(time.Millisecond)
		}
	}
	if sent != count {
		t.Fatalf("sent %d of %d", sent, count)
	}
}

func collect(t testing.TB, rx link.Link, want int, size func(uint32) int) []uint32 {
	t.Helper()
	var got []uint32
	bufs := make([]*link.Buf, 16)
	deadline := time.Now().Add(2 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		waitReadable(rx, 100*time.Millisecond)
		n := rx.Recv(bufs)
		for _, b := range bufs[:n] {
			d := b.Bytes()
			if len(d) >= 18 && binary.BigEndian.Uint16(d[12:]) == testType {
				seq := binary.BigEndian.Uint32(d[14:])
				if len(d) != size(seq) {
					t.Errorf("frame %d: %d bytes, want %d", seq, len(d), size(seq))
				}
				for i := 18; i < len(d); i++ {
					if d[i] != byte(seq)+byte(i) {
						t.Errorf("frame %d: byte %d is %#x", seq, i, d[i])
						break
					}
				}
				got = append(got, seq)
			}
			b.Free()
		}
	}
	return got
}

func TestBurstBothWays(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []tap.Option
	}{{"plain", nil}, {"vnet", []tap.Option{tap.WithVnetHdr()}}, {"offload", []tap.Option{tap.WithOffload(true)}}} {
		t.Run(tc.name, func(t *testing.T) {
			_, l, p := tapAndPeer(t, tc.opts, nil)
			const count = 200
			size := func(seq uint32) int { return 60 + int(seq*37)%1455 }
			for _, dir := range [][2]link.Link{{l, p}, {p, l}} {
				tx, rx := dir[0], dir[1]
				sendAll(t, tx, rx.HardwareAddr(), count, size)
				got := collect(t, rx, count, size)
				if len(got) != count {
					t.Fatalf("received %d of %d", len(got), count)
				}
				for i, s := range got {
					if s != uint32(i) {
						t.Fatalf("frame %d arrived as number %d", s, i)
					}
				}
			}
			st := l.Stats()
			if st.TxFrames != 200 || st.RxFrames < 200 || st.TxErrors != 0 || st.RxErrors != 0 {
				t.Errorf("stats %+v", st)
			}
			if l.Pool().InUse() != 0 {
				t.Errorf("%d buffers leaked", l.Pool().InUse())
			}
		})
	}
}

// tcpSuper builds an Ethernet/IPv4/TCP frame with payload bytes of data,
// checksum field holding the pseudo-header sum (CHECKSUM_PARTIAL style).
func tcpSuper(t testing.TB, l link.Link, dst [6]byte, payload int) *link.Buf {
	b := l.Pool().Get()
	d := b.Extend(14 + 20 + 20 + payload)
	if d == nil {
		t.Fatalf("pool buffer too small for %d bytes", 54+payload)
	}
	src := l.HardwareAddr()
	copy(d, dst[:])
	copy(d[6:], src[:])
	binary.BigEndian.PutUint16(d[12:], 0x0800)
	ip := d[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+20+payload))
	binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF
	ip[8], ip[9] = 64, 6
	copy(ip[12:], []byte{10, 77, 2, 1})
	copy(ip[16:], []byte{10, 77, 2, 2})
	binary.BigEndian.PutUint16(ip[10:], wire.Checksum(ip[:20]))
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 5001)
	binary.BigEndian.PutUint32(tcp[4:], 1000)
	binary.BigEndian.PutUint32(tcp[8:], 1)
	tcp[12] = 5 << 4
	tcp[13] = 0x18 // PSH|ACK
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	for i := 0; i < payload; i++ {
		tcp[20+i] = byte(i)
	}
	ps := wire.PseudoHeaderSum4([4]byte(ip[12:16]), [4]byte(ip[16:20]), 6, uint16(20+payload))
	binary.BigEndian.PutUint16(tcp[16:], ^wire.Fold(ps))
	b.Flags = link.FlagCsumPartial
	return b
}

func tcpChecksumOK(f []byte) bool {
	ip := f[14:]
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if total > len(ip) {
		return false
	}
	seg := ip[20:total]
	ps := wire.PseudoHeaderSum4([4]byte(ip[12:16]), [4]byte(ip[16:20]), 6, uint16(len(seg)))
	return wire.Fold(wire.Sum(seg, ps)) == 0
}

// TestGSOThroughTheKernel: a 4000-byte TCP super-segment sent on the TAP
// with FlagGSO reaches the kernel as one frame (the peer socket, with a
// vnet header, sees one GSO frame with the same segment size and a
// correct completed checksum); and one the kernel sends towards the TAP
// arrives in one frame with WithOffload(true), cut into MSS-sized frames
// without it.
func TestGSOThroughTheKernel(t *testing.T) {
	const payload, mss = 4000, 1000
	big := []afpacket.Option{afpacket.WithVnetHdr(), afpacket.WithFrameSize(1 << 17), afpacket.WithPool(link.PoolConfig{Count: 64, Size: 1 << 17})}
	t.Run("tap-to-kernel", func(t *testing.T) {
		_, l, p := tapAndPeer(t, []tap.Option{tap.WithVnetHdr(), tap.WithPool(link.PoolConfig{Count: 64, Size: 1 << 16})}, big)
		f := tcpSuper(t, l, p.HardwareAddr(), payload)
		f.Flags |= link.FlagGSO
		f.GSOSize = mss
		if l.Send([]*link.Buf{f}) != 1 || l.Stats().TxErrors != 0 {
			t.Fatalf("Send of a GSO frame failed: %+v", l.Stats())
		}
		g := recvTCP(t, p)
		if g == nil {
			t.Fatal("the kernel side received no TCP frame")
		}
		defer g.Free()
		if g.Len() != 54+payload || g.Flags&link.FlagGSO == 0 || g.GSOSize != mss {
			t.Fatalf("got %d bytes flags %v gso %d; want one %d-byte GSO frame cut at %d", g.Len(), g.Flags, g.GSOSize, 54+payload, mss)
		}
		if !tcpChecksumOK(g.Bytes()) {
			t.Fatal("TCP checksum not completed")
		}
	})
	for _, gro := range []bool{true, false} {
		name := "kernel-to-tap-segmented"
		if gro {
			name = "kernel-to-tap-offloaded"
		}
		t.Run(name, func(t *testing.T) {
			_, l, p := tapAndPeer(t, []tap.Option{tap.WithOffload(gro), tap.WithPool(link.PoolConfig{Count: 64, Size: 1 << 17})}, big)
			f := tcpSuper(t, p, l.HardwareAddr(), payload)
			f.Flags |= link.FlagGSO
			f.GSOSize = mss
			if p.Send([]*link.Buf{f}) != 1 || p.Stats().TxErrors != 0 {
				t.Fatalf("peer Send of a GSO frame failed: %+v", p.Stats())
			}
			total, frames := 0, 0
			for frames < payload/mss {
				g := recvTCP(t, l)
				if g == nil {
					break
				}
				frames++
				total += g.Len() - 54
				if !tcpChecksumOK(g.Bytes()) || g.Flags&link.FlagCsumValid == 0 {
					t.Errorf("frame %d: checksum wrong or not marked valid (flags %v)", frames, g.Flags)
				}
				if gro && (g.Flags&link.FlagGSO == 0 || g.GSOSize != mss) {
					t.Errorf("offloaded frame flags %v gso %d, want FlagGSO at %d", g.Flags, g.GSOSize, mss)
				}
				g.Free()
				if total >= payload {
					break
				}
			}
			want := payload / mss
			if gro {
				want = 1
			}
			if total != payload || frames != want {
				t.Fatalf("received %d payload bytes in %d frames, want %d in %d", total, frames, payload, want)
			}
		})
	}
}

func recvTCP(t testing.TB, l link.Link) *link.Buf {
	bufs := make([]*link.Buf, 1)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		waitReadable(l, 100*time.Millisecond)
		if l.Recv(bufs) == 0 {
			continue
		}
		d := bufs[0].Bytes()
		if len(d) > 34 && binary.BigEndian.Uint16(d[12:]) == 0x0800 && d[23] == 6 {
			return bufs[0]
		}
		bufs[0].Free()
	}
	return nil
}

func TestHardwareAddrIsNotTheKernelSide(t *testing.T) {
	_, l, p := tapAndPeer(t, nil, nil)
	mac := l.HardwareAddr()
	if mac == p.HardwareAddr() {
		t.Fatal("the stack's MAC equals the TAP's kernel-side MAC")
	}
	if mac[0]&1 != 0 || mac[0]&2 == 0 {
		t.Fatalf("MAC %x is not unicast and locally administered", mac)
	}
	if l.MTU() != 1500 || l.Name() != "tap0" || l.Fd() < 0 {
		t.Fatalf("MTU %d name %q fd %d", l.MTU(), l.Name(), l.Fd())
	}
	want := [6]byte{2, 0xaa, 0, 0, 0, 1}
	netns.Require(t)
	ns := netns.New(t).NS()
	var l2 *tap.Link
	if err := ns.Do(func() (err error) {
		l2, err = tap.Open("tapx", tap.WithHardwareAddr(want), tap.WithMTU(1400))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if l2.HardwareAddr() != want || l2.MTU() != 1400 {
		t.Fatalf("options ignored: %x %d", l2.HardwareAddr(), l2.MTU())
	}
}

func TestOpenErrors(t *testing.T) {
	netns.Require(t)
	ns := netns.New(t).NS()
	err := ns.Do(func() error {
		l, err := tap.Open("busy0")
		if err != nil {
			return err
		}
		defer l.Close()
		if _, err := tap.Open("busy0"); err == nil || !strings.Contains(err.Error(), "busy") {
			t.Errorf("second Open of a single-queue TAP: %v, want a 'busy' error", err)
		}
		if _, err := tap.Open("busy0", tap.WithMultiQueue()); err == nil {
			t.Error("multi-queue Open of a single-queue TAP succeeded")
		}
		if _, err := tap.Open(""); err == nil {
			t.Error("empty name accepted")
		}
		if _, err := tap.Open("a-name-far-too-long"); err == nil {
			t.Error("17-byte name accepted")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMultiQueue(t *testing.T) {
	netns.Require(t)
	ns := netns.New(t).NS()
	var ls []*tap.Link
	if err := ns.Do(func() (err error) {
		ls, err = tap.OpenQueues("mq0", 3)
		return err
	}); err != nil {
		t.Fatalf("OpenQueues: %v", err)
	}
	for _, l := range ls {
		if l.Fd() < 0 {
			t.Fatal("queue without a descriptor")
		}
		l.Close()
	}
}

func TestClose(t *testing.T) {
	_, l, p := tapAndPeer(t, nil, nil)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); !errors.Is(err, link.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	f := frame(t, p, l.HardwareAddr(), 0, 60)
	if l.Send([]*link.Buf{f}) != 0 || l.Recv(make([]*link.Buf, 2)) != 0 || l.Fd() != -1 {
		t.Fatal("closed link still works")
	}
	f.Free()
}

func TestSteadyStateAllocs(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []tap.Option
	}{{"plain", nil}, {"vnet", []tap.Option{tap.WithVnetHdr()}}} {
		t.Run(tc.name, func(t *testing.T) {
			_, l, p := tapAndPeer(t, tc.opts, nil)
			out := make([]*link.Buf, 1)
			in := make([]*link.Buf, 8)
			pfdP := []unix.PollFd{{Fd: int32(p.Fd()), Events: unix.POLLIN}}
			pfdL := []unix.PollFd{{Fd: int32(l.Fd()), Events: unix.POLLIN}}
			lost := 0
			hop := func(tx, rx link.Link, pfd []unix.PollFd) {
				f := tx.Pool().Get()
				d := f.Extend(60)
				dst := rx.HardwareAddr()
				copy(d, dst[:])
				binary.BigEndian.PutUint16(d[12:], testType)
				out[0] = f
				if tx.Send(out) != 1 {
					f.Free()
				}
				for tries := 0; tries < 50; tries++ {
					unix.Poll(pfd, 20)
					if n := rx.Recv(in); n > 0 {
						for _, x := range in[:n] {
							x.Free()
						}
						return
					}
				}
				lost++
			}
			round := func() { hop(l, p, pfdP); hop(p, l, pfdL) }
			round()
			if allocs := testing.AllocsPerRun(200, round); allocs != 0 {
				t.Errorf("Send+Recv allocates %.1f times per round, want 0", allocs)
			}
			if lost > 0 {
				t.Errorf("%d frames lost", lost)
			}
		})
	}
}

func TestOpenNeedsCapNetAdmin(t *testing.T) {
	netns.Require(t)
	ns := netns.New(t).NS()
	err := ns.DoWithoutNetCaps(func() error {
		l, err := tap.Open("nocap0")
		if err == nil {
			l.Close()
		}
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "needs root or CAP_NET_ADMIN") {
		t.Fatalf("Open without CAP_NET_ADMIN: %v", err)
	}
}

// BenchmarkSendRecv moves bursts of 32 60-byte frames from the TAP link to
// an AF_PACKET socket on the device's kernel side.
func BenchmarkSendRecv(b *testing.B) {
	_, l, p := tapAndPeer(b, nil, nil)
	out := make([]*link.Buf, 32)
	in := make([]*link.Buf, 64)
	dst := p.HardwareAddr()
	b.ReportAllocs()
	got := 0
	for b.Loop() {
		for i := range out {
			f := l.Pool().Get()
			d := f.Extend(60)
			copy(d, dst[:])
			binary.BigEndian.PutUint16(d[12:], testType)
			out[i] = f
		}
		n := l.Send(out)
		for _, f := range out[n:] {
			f.Free()
		}
		for tries := 0; tries < 100 && got < n; tries++ {
			k := p.Recv(in)
			for _, f := range in[:k] {
				f.Free()
			}
			got += k
			if k == 0 {
				waitReadable(p, time.Millisecond)
			}
		}
		got -= n
	}
	b.ReportMetric(float64(32*b.N)/b.Elapsed().Seconds(), "frames/s")
}
