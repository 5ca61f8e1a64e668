package afxdp

import (
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ustack/ustack/link"
)

// TestFdReadable: the socket polls readable exactly when a frame waits.
func TestFdReadable(t *testing.T) {
	a, b := linkPair(t)
	poll := func(ms int) bool {
		p := []unix.PollFd{{Fd: int32(a.Fd()), Events: unix.POLLIN}}
		n, err := unix.Poll(p, ms)
		return err == nil && n == 1 && p[0].Revents&unix.POLLIN != 0
	}
	if poll(0) {
		t.Fatal("Fd readable with nothing received")
	}
	out := []*link.Buf{b.Pool().Get()}
	udpFrame(out[0], a.HardwareAddr(), b.HardwareAddr(), 1)
	if b.Send(out) != 1 {
		t.Fatal("Send refused")
	}
	if !poll(5000) {
		t.Fatal("Fd not readable after a frame was sent to it")
	}
	in := make([]*link.Buf, 4)
	if n := a.Recv(in); n != 1 {
		t.Fatalf("Recv = %d after poll said readable", n)
	}
	in[0].Free()
	if poll(0) {
		t.Fatal("Fd still readable after the frame was taken")
	}
}

// TestCloseWhileRunning: Close from another goroutine while the owner
// sends and receives; later calls return 0 and nothing is left in use.
func TestCloseWhileRunning(t *testing.T) {
	a, b := linkPair(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		in := make([]*link.Buf, 8)
		out := make([]*link.Buf, 0, 8)
		for {
			select {
			case <-stop:
				for _, x := range out {
					x.Free()
				}
				return
			default:
			}
			for len(out) < cap(out) {
				x := a.Pool().Get()
				if x == nil {
					break
				}
				udpFrame(x, b.HardwareAddr(), a.HardwareAddr(), 0)
				out = append(out, x)
			}
			k := a.Send(out)
			out = append(out[:0], out[k:]...)
			n := a.Recv(in)
			for _, x := range in[:n] {
				x.Free()
			}
		}
	}()
	time.Sleep(20 * time.Millisecond) // let the loop run; not a timing assertion
	if err := a.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	close(stop)
	wg.Wait()
	if a.Send([]*link.Buf{a.Pool().Get()}) != 0 {
		t.Error("Send after Close took a frame")
	}
	if a.Pool().InUse() != 1 { // the one just refused
		t.Errorf("%d buffers in use after Close", a.Pool().InUse())
	}
	if err := a.AddAddr(netip.MustParseAddr("10.77.0.9")); !errors.Is(err, link.ErrClosed) {
		t.Errorf("AddAddr after Close: %v", err)
	}
	_ = a.Stats() // still answers, from the counters kept at Close
}

// TestAddRemoveAddr: steering follows the rules map at run time.
func TestAddRemoveAddr(t *testing.T) {
	a, b := linkPair(t)
	if err := a.RemoveAddr(stackAddr.Addr()); err != nil {
		t.Fatal(err)
	}
	out := []*link.Buf{b.Pool().Get()}
	udpFrame(out[0], a.HardwareAddr(), b.HardwareAddr(), 1)
	if b.Send(out) != 1 {
		t.Fatal("Send refused")
	}
	p := []unix.PollFd{{Fd: int32(a.Fd()), Events: unix.POLLIN}}
	if n, _ := unix.Poll(p, 200); n != 0 {
		t.Fatal("a frame for a removed address reached the socket")
	}
	if err := a.AddAddr(stackAddr.Addr()); err != nil {
		t.Fatal(err)
	}
	sendAll(t, b, a, 10, 4)
	if err := a.AddAddr(netip.MustParseAddr("fd00::1")); err == nil {
		t.Error("AddAddr accepted an IPv6 address")
	}
}

// TestPortSteering: with WithPorts only the listed UDP port reaches the
// socket; AddPort and RemovePort change that at run time.
func TestPortSteering(t *testing.T) {
	a, b := linkPair(t, WithPorts(UDP, 4001))
	sendTo := func(port uint16) bool {
		out := []*link.Buf{b.Pool().Get()}
		udpFrame(out[0], a.HardwareAddr(), b.HardwareAddr(), 1)
		f := out[0].Bytes()
		f[14+20+2], f[14+20+3] = byte(port>>8), byte(port)
		if b.Send(out) != 1 {
			t.Fatal("Send refused")
		}
		p := []unix.PollFd{{Fd: int32(a.Fd()), Events: unix.POLLIN}}
		n, _ := unix.Poll(p, 300)
		in := make([]*link.Buf, 4)
		got := a.Recv(in)
		for _, x := range in[:got] {
			x.Free()
		}
		return n == 1 && got == 1
	}
	if !sendTo(4001) {
		t.Error("listed port 4001 did not reach the socket")
	}
	if sendTo(4002) {
		t.Error("unlisted port 4002 reached the socket")
	}
	if err := a.AddPort(UDP, 4002); err != nil {
		t.Fatal(err)
	}
	if !sendTo(4002) {
		t.Error("port 4002 did not reach the socket after AddPort")
	}
	if err := a.RemovePort(UDP, 4001); err != nil {
		t.Fatal(err)
	}
	if sendTo(4001) {
		t.Error("port 4001 reached the socket after RemovePort")
	}
	if _, err := Open("eth0", 0, WithPorts(Proto(1), 7)); err == nil {
		t.Error("a port rule for ICMP was accepted")
	}
}
