package afxdp

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
)

// linkPair opens A's end (steering stackAddr) and B's end (steering
// nothing) of a fresh veth pair: frames B sends to stackAddr arrive in A's
// socket, frames A sends leave through the veth to B's kernel.
func linkPair(t testing.TB, opts ...Option) (a, b *Link) {
	t.Helper()
	p := newVethPair(t)
	a, err := openIn(t, p.NsA, p.IfA, 0, append([]Option{WithAddrs(stackAddr.Addr())}, opts...)...)
	if err != nil {
		t.Fatalf("Open A: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	b, err = openIn(t, p.NsB, p.IfB, 0, opts...)
	if err != nil {
		t.Fatalf("Open B: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

const udpLen = 8 + 32

// udpFrame writes an Ethernet/IPv4/UDP frame from src to dst carrying seq
// into buf (checksums are not needed: nothing on the path checks them).
func udpFrame(buf *link.Buf, dstMAC, srcMAC [6]byte, seq uint32) {
	f := buf.Extend(14 + 20 + udpLen)
	copy(f[0:6], dstMAC[:])
	copy(f[6:12], srcMAC[:])
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], 20+udpLen)
	ip[8], ip[9] = 64, 17
	copy(ip[12:16], peerAddr.Addr().AsSlice())
	copy(ip[16:20], stackAddr.Addr().AsSlice())
	udp := ip[20:]
	binary.BigEndian.PutUint16(udp[0:], 4000)
	binary.BigEndian.PutUint16(udp[2:], 4001)
	binary.BigEndian.PutUint16(udp[4:], udpLen)
	binary.BigEndian.PutUint32(udp[8:], seq)
}

func frameSeq(b *link.Buf) (uint32, bool) {
	f := b.Bytes()
	if len(f) != 14+20+udpLen || binary.BigEndian.Uint16(f[12:]) != 0x0800 {
		return 0, false
	}
	return binary.BigEndian.Uint32(f[14+20+8:]), true
}

// sendAll sends n numbered frames from s to r's MAC in bursts of burst,
// retrying refused frames, and checks r receives each exactly once, in
// order. The deadline only bounds a failing test.
func sendAll(t *testing.T, s, r *Link, n, burst int) {
	t.Helper()
	out := make([]*link.Buf, 0, burst)
	in := make([]*link.Buf, 64)
	next, want := uint32(0), uint32(0)
	deadline := time.Now().Add(10 * time.Second)
	for want < uint32(n) {
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d frames before the deadline; sender %+v receiver %+v", want, n, s.Stats(), r.Stats())
		}
		for len(out) < burst && next < uint32(n) {
			b := s.Pool().Get()
			if b == nil {
				break
			}
			udpFrame(b, r.HardwareAddr(), s.HardwareAddr(), next)
			next++
			out = append(out, b)
		}
		k := s.Send(out)
		out = append(out[:0], out[k:]...)
		got := r.Recv(in)
		for _, b := range in[:got] {
			seq, ok := frameSeq(b)
			if ok && seq != want {
				t.Fatalf("received frame %d, want %d", seq, want)
			}
			if ok {
				want++
			}
			b.Free()
		}
	}
	for _, b := range out {
		b.Free()
	}
}

func TestBurstsBothModes(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"native", []Option{WithAttachMode(AttachNative)}},
		{"generic", []Option{WithAttachMode(AttachGeneric)}},
		{"native without need-wakeup", []Option{WithAttachMode(AttachNative), withoutNeedWakeup()}},
		{"4096-byte frames", []Option{WithFrames(4096, 256)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := linkPair(t, tc.opts...)
			t.Logf("A: %s mode, B: %s mode", a.Mode(), b.Mode())
			// Bursts larger than the kernel's 32-frame transmit batch,
			// and more frames than the UMEM has TX frames.
			sendAll(t, b, a, 5000, 64)
			sa, sb := a.Stats(), b.Stats()
			if sa.RxFrames != 5000 || sb.TxFrames < 5000 {
				t.Errorf("A received %d, B sent %d; want 5000 each (A %+v, B %+v)", sa.RxFrames, sb.TxFrames, sa, sb)
			}
			if a.Pool().InUse() != 0 || b.Pool().InUse() != 0 {
				t.Errorf("buffers leaked: A %d, B %d in use", a.Pool().InUse(), b.Pool().InUse())
			}
		})
	}
}

// TestSendRefusesBadFrames: empty, oversized and nil frames stop Send and
// stay with the caller.
func TestSendRefusesBadFrames(t *testing.T) {
	a, _ := linkPair(t)
	good := a.Pool().Get()
	udpFrame(good, [6]byte{2, 0, 0, 0, 0, 0xee}, a.HardwareAddr(), 1)
	empty := a.Pool().Get()
	big := a.Pool().Get()
	big.Extend(a.MaxFrame() + 1)
	for _, bad := range []*link.Buf{empty, big, nil} {
		if n := a.Send([]*link.Buf{bad}); n != 0 {
			t.Fatalf("Send took a bad frame (len %v)", bad)
		}
	}
	if n := a.Send([]*link.Buf{good, big}); n != 1 {
		t.Fatalf("Send([good, big]) = %d, want 1", n)
	}
	if s := a.Stats(); s.TxErrors != 4 || s.TxFrames != 1 {
		t.Errorf("stats %+v, want 4 TX errors and 1 frame", s)
	}
	empty.Free()
	big.Free()
}

// TestRecvPoolEmptyDrops: with the pool exhausted, received frames are
// dropped and counted, and the UMEM frames still go back to the kernel.
func TestRecvPoolEmptyDrops(t *testing.T) {
	a, b := linkPair(t, WithPool(link.PoolConfig{Count: 8}))
	var held []*link.Buf
	for bf := a.Pool().Get(); bf != nil; bf = a.Pool().Get() {
		held = append(held, bf)
	}
	out := []*link.Buf{b.Pool().Get()}
	udpFrame(out[0], a.HardwareAddr(), b.HardwareAddr(), 7)
	if b.Send(out) != 1 {
		t.Fatal("Send refused a frame")
	}
	in := make([]*link.Buf, 4)
	deadline := time.Now().Add(5 * time.Second)
	for a.Stats().RxDropped == 0 {
		if a.Recv(in) != 0 {
			t.Fatal("Recv returned a frame with the pool empty")
		}
		if time.Now().After(deadline) {
			t.Fatalf("no drop counted: %+v", a.Stats())
		}
	}
	for _, bf := range held {
		bf.Free()
	}
	sendAll(t, b, a, 100, 8) // the link still works
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open("eth0", 0, WithFrames(3000, 64)); err == nil {
		t.Error("frame size 3000 accepted")
	}
	if _, err := Open("eth0", 0, WithFrames(2048, 100)); err == nil {
		t.Error("frame count 100 accepted")
	}
	if _, err := Open("eth0", -1); !errors.Is(err, ErrQueueRange) {
		t.Errorf("queue -1: %v, want ErrQueueRange", err)
	}

	p := newVethPair(t)
	run(t, "ip", "-n", p.NsA, "link", "add", "br0", "type", "bridge")
	run(t, "ip", "-n", p.NsA, "link", "set", "br0", "up")
	if _, err := openIn(t, p.NsA, "nosuchif0", 0); err == nil || !strings.Contains(err.Error(), "nosuchif0") {
		t.Errorf("missing interface: %v", err)
	}
	if _, err := openIn(t, p.NsA, p.IfA, 3); !errors.Is(err, ErrQueueRange) {
		t.Errorf("queue 3 of a one-queue veth: %v, want ErrQueueRange", err)
	} else {
		t.Logf("queue out of range: %v", err)
	}
	if _, err := openIn(t, p.NsA, "br0", 0, WithAttachMode(AttachNative)); !errors.Is(err, ErrNoNativeXDP) {
		t.Errorf("native mode on a bridge: %v, want ErrNoNativeXDP", err)
	} else {
		t.Logf("no native XDP: %v", err)
	}
	d, err := openIn(t, p.NsA, "br0", 0)
	if err != nil {
		t.Fatalf("auto mode on a bridge: %v", err)
	}
	if d.Mode() != "generic" {
		t.Errorf("bridge attached in %s mode, want generic", d.Mode())
	}
	d.Close()

	l, err := openIn(t, p.NsA, p.IfA, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := openIn(t, p.NsA, p.IfA, 0); !errors.Is(err, ErrQueueBusy) {
		t.Errorf("a second link on the same queue: %v, want ErrQueueBusy", err)
	} else {
		t.Logf("second link: %v", err)
	}
	if _, err := openIn(t, p.NsB, p.IfB, 0, WithBindMode(BindZeroCopy)); !errors.Is(err, ErrNoZeroCopy) {
		t.Errorf("zero-copy on veth: %v, want ErrNoZeroCopy", err)
	} else {
		t.Logf("zero-copy on veth: %v", err)
	}
}
