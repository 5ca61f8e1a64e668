package afpacket_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/afpacket"
	"github.com/ustack/ustack/wire"
)

// pair opens a link on each end of the veth: a in the stack namespace, b
// in the kernel one (whose address does not matter at link level).
func pair(t testing.TB, aOpts, bOpts []afpacket.Option) (*world, *afpacket.Link, *afpacket.Link) {
	w := newWorld(t)
	a := w.open(t, w.stack, w.stackIf, aOpts...)
	b := w.open(t, w.kernel, w.kerIf, bOpts...)
	t.Cleanup(func() { a.Close(); b.Close() })
	return w, a, b
}

const testType = 0x88b5 // IEEE local experimental EtherType

// frame builds an experimental-EtherType frame from src to dst carrying
// seq and n bytes in all.
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

// waitReadable polls l's descriptor for up to d.
func waitReadable(l link.Link, d time.Duration) bool {
	p := []unix.PollFd{{Fd: int32(l.Fd()), Events: unix.POLLIN}}
	n, err := unix.Poll(p, int(d/time.Millisecond))
	return err == nil && n > 0
}

// collect receives test frames until want have arrived or 2 s pass,
// checking each against its sequence number.
func collect(t *testing.T, l link.Link, want int, size func(seq uint32) int) []uint32 {
	t.Helper()
	var got []uint32
	bufs := make([]*link.Buf, 16)
	deadline := time.Now().Add(2 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		waitReadable(l, 100*time.Millisecond)
		n := l.Recv(bufs)
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
		name  string
		opts  []afpacket.Option
		lossy bool // the RX ring may not hold the burst: drops must be counted
	}{
		{"v2", nil, false},
		{"v2-small-ring", []afpacket.Option{afpacket.WithRing(8, 8)}, true},
		// A V3 ring holds blocks, not frames: each block retires after
		// the timeout however few frames it holds, so a reader starved
		// of CPU (race detector on a loaded machine) finds every block
		// used and the kernel drops, and counts, the rest.
		{"v3", []afpacket.Option{afpacket.WithV3(time.Millisecond)}, true},
		{"vnet", []afpacket.Option{afpacket.WithVnetHdr()}, false},
		{"bypass", []afpacket.Option{afpacket.WithQdiscBypass()}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, a, b := pair(t, tc.opts, tc.opts)
			const count = 200
			size := func(seq uint32) int { return 60 + int(seq*37)%1455 }
			for _, dir := range [][2]*afpacket.Link{{a, b}, {b, a}} {
				tx, rx := dir[0], dir[1]
				before, rxBefore := tx.Stats(), rx.Stats()
				sent := 0
				out := make([]*link.Buf, 0, 32)
				for tries := 0; sent < count && tries < 1000; tries++ {
					out = out[:0]
					for i := sent; i < min(sent+32, count); i++ {
						out = append(out, frame(t, tx, rx.HardwareAddr(), uint32(i), size(uint32(i))))
					}
					n := tx.Send(out)
					for _, f := range out[n:] {
						f.Free()
					}
					sent += n
					if n < len(out) {
						time.Sleep(time.Millisecond) // ring full: let the kernel drain it
					}
				}
				if sent != count {
					t.Fatalf("sent %d of %d", sent, count)
				}
				got := collect(t, rx, count, size)
				for i := 1; i < len(got); i++ {
					if got[i] <= got[i-1] {
						t.Fatalf("frame %d arrived after frame %d", got[i], got[i-1])
					}
				}
				if len(got) == 0 {
					t.Fatalf("%s -> %s: nothing received", tx.Name(), rx.Name())
				}
				if tc.lossy {
					// What the ring could not hold is counted.
					drops := rx.Stats().RxDropped - rxBefore.RxDropped
					if uint64(len(got))+drops != count {
						t.Fatalf("%s -> %s: received %d + dropped %d != sent %d", tx.Name(), rx.Name(), len(got), drops, count)
					}
				} else if len(got) != count {
					t.Fatalf("%s -> %s: received %d of %d frames (ring drops %d, rx stats %+v)", tx.Name(), rx.Name(), len(got), count, rx.Stats().RxDropped-rxBefore.RxDropped, rx.Stats())
				}
				st := tx.Stats()
				if st.TxFrames-before.TxFrames != count || st.TxErrors != 0 {
					t.Errorf("TX stats %+v (before %+v)", st, before)
				}
				if rs := rx.Stats(); (!tc.lossy && rs.RxFrames < count) || rs.RxErrors != 0 {
					t.Errorf("RX stats %+v", rs)
				}
			}
			if a.Pool().InUse() != 0 || b.Pool().InUse() != 0 {
				t.Errorf("buffers leaked: %d, %d in use", a.Pool().InUse(), b.Pool().InUse())
			}
		})
	}
}

// TestVLANTagRestored: the kernel lifts an 802.1Q tag into the ring
// header; Recv puts it back so the frame arrives as it was sent.
func TestVLANTagRestored(t *testing.T) {
	_, a, b := pair(t, nil, nil)
	f := a.Pool().Get()
	d := f.Extend(64)
	dst, src := b.HardwareAddr(), a.HardwareAddr()
	copy(d, dst[:])
	copy(d[6:], src[:])
	binary.BigEndian.PutUint16(d[12:], 0x8100)
	binary.BigEndian.PutUint16(d[14:], 0x2005) // PCP 1, VID 5
	binary.BigEndian.PutUint16(d[16:], testType)
	for i := 18; i < 64; i++ {
		d[i] = byte(i)
	}
	want := append([]byte(nil), d...)
	if a.Send([]*link.Buf{f}) != 1 {
		t.Fatal("Send refused the tagged frame")
	}
	bufs := make([]*link.Buf, 8)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		waitReadable(b, 100*time.Millisecond)
		n := b.Recv(bufs)
		for _, g := range bufs[:n] {
			same := string(g.Bytes()) == string(want)
			g.Free()
			if same {
				return
			}
		}
	}
	t.Fatal("tagged frame not received intact")
}

// TestChecksumPartialCompleted: UDP sent by the kernel over a veth carries
// only the pseudo-header sum (checksum offload); Recv completes it.
func TestChecksumPartialCompleted(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []afpacket.Option
	}{{"status-bit", nil}, {"vnet", []afpacket.Option{afpacket.WithVnetHdr()}}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			a := w.open(t, w.stack, w.stackIf, tc.opts...)
			defer a.Close()
			mac := a.HardwareAddr()
			w.kernel.IP("neigh", "replace", stackAddr.Addr().String(), "lladdr", net.HardwareAddr(mac[:]).String(), "dev", w.kerIf)
			cmd := fmt.Sprintf("for i in 1 2 3; do echo hello-ustack > /dev/udp/%s/9; done", stackAddr.Addr())
			if out, err := w.kernel.Command(5*time.Second, "bash", "-c", cmd).CombinedOutput(); err != nil {
				t.Fatalf("sending UDP from the kernel: %v: %s", err, out)
			}
			bufs := make([]*link.Buf, 8)
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) {
				waitReadable(a, 100*time.Millisecond)
				n := a.Recv(bufs)
				for _, g := range bufs[:n] {
					ok, isUDP := udpChecksumOK(g.Bytes())
					flags := g.Flags
					g.Free()
					if !isUDP {
						continue
					}
					if !ok {
						t.Fatal("UDP frame from the kernel has a wrong checksum after Recv")
					}
					if flags&link.FlagCsumValid == 0 {
						t.Error("completed frame not marked FlagCsumValid")
					}
					return
				}
			}
			t.Fatal("no UDP frame received")
		})
	}
}

// udpChecksumOK verifies an Ethernet/IPv4/UDP frame's checksum the slow
// way, over the pseudo-header and the datagram.
func udpChecksumOK(f []byte) (ok, isUDP bool) {
	if len(f) < 14+20+8 || binary.BigEndian.Uint16(f[12:]) != 0x0800 || f[14+9] != 17 {
		return false, false
	}
	ihl := int(f[14]&0xf) * 4
	ip := f[14:]
	total := int(binary.BigEndian.Uint16(ip[2:]))
	udp := ip[ihl:total]
	src, dst := [4]byte(ip[12:16]), [4]byte(ip[16:20])
	_ = netip.AddrFrom4(src)
	sum := wire.PseudoHeaderSum4(src, dst, 17, uint16(len(udp)))
	return wire.Fold(wire.Sum(udp, sum)) == 0, true
}

func TestOversizedFrameCountedAsError(t *testing.T) {
	_, a, b := pair(t, nil, nil)
	big := frame(t, a, b.HardwareAddr(), 1, a.MaxFrame()+1)
	small := frame(t, a, b.HardwareAddr(), 2, 100)
	if n := a.Send([]*link.Buf{big, small}); n != 2 {
		t.Fatalf("Send took %d frames, want 2 (the oversized one dropped)", n)
	}
	if st := a.Stats(); st.TxErrors != 1 || st.TxFrames != 1 {
		t.Fatalf("stats %+v, want 1 error and 1 frame", st)
	}
	got := collect(t, b, 1, func(uint32) int { return 100 })
	if len(got) != 1 || got[0] != 2 {
		t.Fatalf("received %v, want [2]", got)
	}
}

func TestClose(t *testing.T) {
	_, a, b := pair(t, nil, nil)
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := a.Close(); !errors.Is(err, link.ErrClosed) {
		t.Fatalf("second Close: %v, want link.ErrClosed", err)
	}
	if a.Fd() != -1 {
		t.Error("Fd after Close is not -1")
	}
	f := frame(t, b, a.HardwareAddr(), 0, 60)
	if a.Send([]*link.Buf{f}) != 0 {
		t.Error("Send after Close took a frame")
	}
	f.Free()
	if a.Recv(make([]*link.Buf, 4)) != 0 {
		t.Error("Recv after Close returned frames")
	}
	_ = a.Stats()
}

// TestCloseWhileReceiving closes from another goroutine while the owner
// spins in Recv and Send: nothing may touch the unmapped rings.
func TestCloseWhileReceiving(t *testing.T) {
	_, a, b := pair(t, nil, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		bufs := make([]*link.Buf, 8)
		for i := 0; i < 200000; i++ {
			n := a.Recv(bufs)
			for _, x := range bufs[:n] {
				x.Free()
			}
			f := a.Pool().Get()
			f.Extend(60)
			if a.Send([]*link.Buf{f}) == 0 {
				f.Free()
				if a.Fd() == -1 {
					return
				}
			}
		}
	}()
	time.Sleep(20 * time.Millisecond)
	a.Close()
	<-done
	_ = b
}

func TestOpenErrors(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		iface string
		opts  []afpacket.Option
		want  string
	}{
		{"nosuch0", nil, "not found in this network namespace"},
		{w.stackIf, []afpacket.Option{afpacket.WithRing(100, 8)}, "power of two"},
		{w.stackIf, []afpacket.Option{afpacket.WithFrameSize(1000)}, "frame size"},
		{w.stackIf, []afpacket.Option{afpacket.WithMTU(9000)}, "MTU 9000 out of range"},
		{"lo", nil, "no Ethernet address"},
	} {
		err := w.stack.Do(func() error {
			l, err := afpacket.Open(tc.iface, tc.opts...)
			if err == nil {
				l.Close()
			}
			return err
		})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s): %v, want an error mentioning %q", tc.iface, err, tc.want)
		}
	}
}

// TestSteadyStateAllocs: one frame out and back in allocates nothing.
func TestSteadyStateAllocs(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []afpacket.Option
	}{{"v2", nil}, {"v3", []afpacket.Option{afpacket.WithV3(time.Millisecond)}}, {"vnet", []afpacket.Option{afpacket.WithVnetHdr()}}} {
		t.Run(tc.name, func(t *testing.T) {
			_, a, b := pair(t, tc.opts, tc.opts)
			out := make([]*link.Buf, 1)
			in := make([]*link.Buf, 8)
			dst := b.HardwareAddr()
			pfd := []unix.PollFd{{Fd: int32(b.Fd()), Events: unix.POLLIN}}
			lost := 0
			round := func() {
				f := a.Pool().Get()
				d := f.Extend(60)
				copy(d, dst[:])
				binary.BigEndian.PutUint16(d[12:], testType)
				out[0] = f
				if a.Send(out) != 1 {
					f.Free()
				}
				for tries := 0; tries < 50; tries++ {
					unix.Poll(pfd, 20)
					if n := b.Recv(in); n > 0 {
						for _, x := range in[:n] {
							x.Free()
						}
						return
					}
				}
				lost++
			}
			round()
			if allocs := testing.AllocsPerRun(200, round); allocs != 0 {
				t.Errorf("Send+Recv allocates %.1f times per frame, want 0", allocs)
			}
			if lost > 0 {
				t.Errorf("%d frames not received", lost)
			}
		})
	}
}

// BenchmarkSendRecv moves bursts of 32 60-byte frames over the veth.
func BenchmarkSendRecv(b *testing.B) {
	_, x, y := pair(b, nil, nil)
	out := make([]*link.Buf, 32)
	in := make([]*link.Buf, 64)
	dst := y.HardwareAddr()
	b.ReportAllocs()
	got := 0
	for b.Loop() {
		for i := range out {
			f := x.Pool().Get()
			d := f.Extend(60)
			copy(d, dst[:])
			binary.BigEndian.PutUint16(d[12:], testType)
			out[i] = f
		}
		n := x.Send(out)
		for _, f := range out[n:] {
			f.Free()
		}
		for tries := 0; tries < 100 && got < n; tries++ {
			k := y.Recv(in)
			for _, f := range in[:k] {
				f.Free()
			}
			got += k
			if k == 0 {
				waitReadable(y, time.Millisecond)
			}
		}
		got -= n
	}
	b.ReportMetric(float64(32*b.N)/b.Elapsed().Seconds(), "frames/s")
}

func TestOpenNeedsCapNetRaw(t *testing.T) {
	w := newWorld(t)
	err := w.stack.DoWithoutNetCaps(func() error {
		l, err := afpacket.Open(w.stackIf)
		if err == nil {
			l.Close()
		}
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "needs root or CAP_NET_RAW") {
		t.Fatalf("Open without CAP_NET_RAW: %v", err)
	}
}
