package ustack_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/mem"
	"github.com/ustack/ustack/shard"
)

var (
	addrA = netip.MustParseAddr("10.0.0.1")
	addrB = netip.MustParseAddr("10.0.0.2")
)

// newUDPPair is newPair with options for the link and the configs.
func newUDPPair(t testing.TB, opts []mem.Option, tweak func(a, b *ustack.Config)) (a, b *ustack.Stack) {
	t.Helper()
	la, lb := mem.Pair(opts...)
	ca := ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24")}
	cb := ustack.Config{Link: lb, Addr: netip.MustParsePrefix("10.0.0.2/24")}
	if tweak != nil {
		tweak(&ca, &cb)
	}
	var err error
	if a, err = ustack.New(ca); err != nil {
		t.Fatal(err)
	}
	if b, err = ustack.New(cb); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.Close()
		b.Close()
	})
	return a, b
}

func listen(t testing.TB, s *ustack.Stack, address string) *ustack.UDPConn {
	t.Helper()
	pc, err := s.ListenPacket("udp", address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.(*ustack.UDPConn)
}

func port(c net.PacketConn) uint16 { return c.LocalAddr().(*net.UDPAddr).AddrPort().Port() }

// echo serves c until it is closed, sending every datagram back.
func echo(c *ustack.UDPConn) {
	buf := make([]byte, 65536)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if _, err := c.WriteToUDPAddrPort(buf[:n], from); err != nil {
			return
		}
	}
}

func pattern(n, seed int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + seed)
	}
	return p
}

// Every payload size that fits one 1500-byte frame (0..1472) makes the
// round trip intact, as does an 8000-byte datagram that the IP layer
// fragments and the peer reassembles.
func TestUDPEchoSizes(t *testing.T) {
	a, b := newUDPPair(t, []mem.Option{mem.WithPool(link.PoolConfig{Size: 16384, Count: 1024})}, nil)
	srv := listen(t, b, ":7")
	go echo(srv)
	cli := listen(t, a, "")
	if p := port(cli); p < 32768 || p > 60999 {
		t.Fatalf("ephemeral port %d outside 32768-60999", p)
	}
	dst := netip.AddrPortFrom(addrB, 7)
	buf := make([]byte, 9000)
	cli.SetReadDeadline(time.Now().Add(20 * time.Second))
	sizes := make([]int, 0, 1474)
	for n := 0; n <= 1472; n++ {
		sizes = append(sizes, n)
	}
	sizes = append(sizes, 8000)
	for _, n := range sizes {
		want := pattern(n, n)
		if w, err := cli.WriteToUDPAddrPort(want, dst); err != nil || w != n {
			t.Fatalf("write %d bytes: %d, %v", n, w, err)
		}
		got, from, err := cli.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("read echo of %d bytes: %v", n, err)
		}
		if from != dst {
			t.Fatalf("echo of %d bytes from %v, want %v", n, from, dst)
		}
		if !bytes.Equal(buf[:got], want) {
			t.Fatalf("echo of %d bytes came back as %d different bytes", n, got)
		}
	}
	ca, _ := a.UDPCounters()
	cb, _ := b.UDPCounters()
	if ca.OutDatagrams != uint64(len(sizes)) || ca.InDatagrams != uint64(len(sizes)) {
		t.Errorf("client counters %+v, want %d out and in", ca, len(sizes))
	}
	if cb.InDatagrams != uint64(len(sizes)) || cb.OutDatagrams != uint64(len(sizes)) {
		t.Errorf("server counters %+v, want %d in and out", cb, len(sizes))
	}
	ipa, _ := a.IPCounters()
	if ipa.FragOKs != 1 {
		t.Errorf("client fragmented %d datagrams, want 1 (the 8000-byte one)", ipa.FragOKs)
	}
}

// ReadFrom and WriteTo (the net.PacketConn forms) agree with the netip
// forms, and a short read buffer truncates like the net package.
func TestUDPPacketConnAndTruncation(t *testing.T) {
	a, b := newUDPPair(t, nil, nil)
	srv := listen(t, b, "10.0.0.2:9000")
	cli := listen(t, a, "0.0.0.0:0")
	to := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 9000}
	if _, err := cli.WriteTo([]byte("hello, world"), to); err != nil {
		t.Fatal(err)
	}
	srv.SetReadDeadline(time.Now().Add(10 * time.Second))
	p := make([]byte, 5)
	n, from, err := srv.ReadFrom(p)
	if err != nil || n != 5 || string(p) != "hello" {
		t.Fatalf("short read: %d %q %v, want 5 \"hello\"", n, p[:n], err)
	}
	if want := net.UDPAddrFromAddrPort(netip.AddrPortFrom(addrA, port(cli))); from.String() != want.String() {
		t.Fatalf("from %v, want %v", from, want)
	}
	// The rest of the datagram is gone: the next read gets the next one.
	cli.WriteTo([]byte("second"), to)
	p = make([]byte, 100)
	n, _, err = srv.ReadFrom(p)
	if err != nil || string(p[:n]) != "second" {
		t.Fatalf("next read: %q %v, want \"second\"", p[:n], err)
	}
	if la := srv.LocalAddr().String(); la != "10.0.0.2:9000" {
		t.Fatalf("LocalAddr %s", la)
	}
}

// Many goroutines write through one socket and through sockets of their
// own at once; every datagram arrives exactly once and intact.
func TestUDPConcurrentSenders(t *testing.T) {
	const senders, each = 8, 200
	a, b := newUDPPair(t, nil, func(ca, cb *ustack.Config) { cb.UDPRecvBuffer = 64 << 20 })
	srv := listen(t, b, ":5000")
	shared := listen(t, a, "")
	dst := netip.AddrPortFrom(addrB, 5000)
	// Resolve the peer first: datagrams sent before ARP answers wait in
	// the neighbour's bounded queue, and a burst of 1600 overflows it
	// (dropped and counted, as Linux does) on a slow machine.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.Ping(ctx, addrB, 8); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := shared
			if g%2 == 1 {
				c = listen(t, a, "")
			}
			msg := make([]byte, 64)
			for i := range each {
				msg[0], msg[1], msg[2] = byte(g), byte(i), byte(i>>8)
				copy(msg[3:], pattern(61, g+i))
				if _, err := c.WriteToUDPAddrPort(msg, dst); err != nil {
					t.Errorf("sender %d: %v", g, err)
					return
				}
			}
		}()
	}
	seen := make(map[[3]byte]bool)
	srv.SetReadDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 100)
	for len(seen) < senders*each {
		n, _, err := srv.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("after %d datagrams: %v", len(seen), err)
		}
		g, i := int(buf[0]), int(buf[1])|int(buf[2])<<8
		if n != 64 || !bytes.Equal(buf[3:n], pattern(61, g+i)) {
			t.Fatalf("datagram %d/%d corrupted", g, i)
		}
		k := [3]byte(buf[:3])
		if seen[k] {
			t.Fatalf("datagram %d/%d twice", g, i)
		}
		seen[k] = true
	}
	wg.Wait()
}

// Several readers block on one socket; each datagram wakes exactly one
// of them and none is lost.
func TestUDPConcurrentReaders(t *testing.T) {
	a, b := newUDPPair(t, nil, nil)
	srv := listen(t, b, ":5001")
	cli := listen(t, a, "")
	const readers, total = 4, 400
	var mu sync.Mutex
	got := 0
	var wg sync.WaitGroup
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 16)
			for {
				if _, _, err := srv.ReadFromUDPAddrPort(buf); err != nil {
					return
				}
				mu.Lock()
				got++
				mu.Unlock()
			}
		}()
	}
	dst := netip.AddrPortFrom(addrB, 5001)
	for i := range total {
		if _, err := cli.WriteToUDPAddrPort([]byte{byte(i)}, dst); err != nil {
			t.Fatal(err)
		}
		if i%50 == 49 {
			time.Sleep(time.Millisecond) // stay under the receive buffer
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := got
		mu.Unlock()
		if n == total || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	srv.Close()
	wg.Wait()
	c, _ := b.UDPCounters()
	if got+int(c.RcvbufErrors) != total {
		t.Fatalf("readers got %d, dropped %d, of %d", got, c.RcvbufErrors, total)
	}
}

func udpIsTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
}

func TestUDPReadDeadlines(t *testing.T) {
	a, b := newUDPPair(t, nil, nil)
	srv := listen(t, b, ":6000")
	cli := listen(t, a, "")
	dst := netip.AddrPortFrom(addrB, 6000)
	buf := make([]byte, 10)

	// Past: fails at once, even with data waiting.
	cli.WriteToUDPAddrPort([]byte("x"), dst)
	waitCounter(t, b, func(c udpCounters) bool { return c.InDatagrams == 1 })
	srv.SetReadDeadline(time.Now().Add(-time.Second))
	if _, _, err := srv.ReadFromUDPAddrPort(buf); !udpIsTimeout(err) {
		t.Fatalf("past deadline: %v, want a timeout", err)
	}
	var oe *net.OpError
	if _, _, err := srv.ReadFrom(buf); !errors.As(err, &oe) || oe.Op != "read" || oe.Net != "udp" {
		t.Fatalf("timeout error %v is not a read *net.OpError", err)
	}
	// Reset to zero: the waiting datagram is read.
	srv.SetReadDeadline(time.Time{})
	if n, _, err := srv.ReadFromUDPAddrPort(buf); err != nil || string(buf[:n]) != "x" {
		t.Fatalf("after reset: %q %v", buf[:n], err)
	}
	// Future: a blocked read times out, not much before the deadline.
	start := time.Now()
	srv.SetReadDeadline(start.Add(50 * time.Millisecond))
	if _, _, err := srv.ReadFromUDPAddrPort(buf); !udpIsTimeout(err) {
		t.Fatalf("future deadline: %v, want a timeout", err)
	}
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Fatalf("timed out after %v, before the 50ms deadline", el)
	}
	// Extended while blocked: the read waits for the new deadline and gets
	// the datagram sent after the old one passed.
	// (The first deadline leaves room for a loaded machine to deschedule
	// this goroutine before it extends it; the datagram goes out only
	// once that first deadline has passed.)
	first := time.Now().Add(300 * time.Millisecond)
	srv.SetReadDeadline(first)
	res := make(chan error, 1)
	go func() {
		_, _, err := srv.ReadFromUDPAddrPort(buf)
		res <- err
	}()
	time.Sleep(10 * time.Millisecond)
	srv.SetReadDeadline(time.Now().Add(time.Hour))
	time.Sleep(time.Until(first) + 50*time.Millisecond)
	cli.WriteToUDPAddrPort([]byte("y"), dst)
	if err := <-res; err != nil {
		t.Fatalf("read with extended deadline: %v", err)
	}
	// Shortened into the past while blocked: the read fails at once.
	go func() {
		_, _, err := srv.ReadFromUDPAddrPort(buf)
		res <- err
	}()
	time.Sleep(10 * time.Millisecond)
	srv.SetDeadline(time.Now().Add(-time.Millisecond))
	if err := <-res; !udpIsTimeout(err) {
		t.Fatalf("deadline moved into the past: %v, want a timeout", err)
	}
	// And cleared while blocked: the read keeps waiting.
	srv.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	go func() {
		_, _, err := srv.ReadFromUDPAddrPort(buf)
		res <- err
	}()
	time.Sleep(5 * time.Millisecond)
	srv.SetReadDeadline(time.Time{})
	select {
	case err := <-res:
		t.Fatalf("read returned %v after its deadline was cleared", err)
	case <-time.After(100 * time.Millisecond):
	}
	cli.WriteToUDPAddrPort([]byte("z"), dst)
	if err := <-res; err != nil {
		t.Fatalf("read after clearing: %v", err)
	}
}

func TestUDPWriteDeadlinePast(t *testing.T) {
	a, _ := newUDPPair(t, nil, nil)
	cli := listen(t, a, "")
	cli.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := cli.WriteToUDPAddrPort([]byte("x"), netip.AddrPortFrom(addrB, 1)); !udpIsTimeout(err) {
		t.Fatalf("write after its deadline: %v, want a timeout", err)
	}
	cli.SetWriteDeadline(time.Time{})
	if _, err := cli.WriteToUDPAddrPort([]byte("x"), netip.AddrPortFrom(addrB, 1)); err != nil {
		t.Fatalf("write with the deadline cleared: %v", err)
	}
}

func TestUDPCloseUnblocksRead(t *testing.T) {
	_, b := newUDPPair(t, nil, nil)
	srv := listen(t, b, ":6001")
	res := make(chan error, 1)
	go func() {
		_, _, err := srv.ReadFrom(make([]byte, 10))
		res <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-res:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("blocked read after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not unblock ReadFrom")
	}
	if _, err := srv.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v", err)
	}
	if err := srv.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if err := srv.SetDeadline(time.Now()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("SetDeadline after Close: %v", err)
	}
	// The port is free again.
	listen(t, b, ":6001")
}

func TestUDPStackCloseUnblocksRead(t *testing.T) {
	la, _ := mem.Pair()
	s, err := ustack.New(ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24")})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := s.ListenPacket("udp4", ":53")
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() {
		_, _, err := pc.ReadFrom(make([]byte, 10))
		res <- err
	}()
	time.Sleep(10 * time.Millisecond)
	s.Close()
	if err := <-res; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read on a closed stack: %v, want net.ErrClosed", err)
	}
	pc.Close()
}

func TestUDPListenErrors(t *testing.T) {
	a, _ := newUDPPair(t, nil, nil)
	listen(t, a, ":4000")
	_, err := a.ListenPacket("udp", "10.0.0.1:4000")
	var oe *net.OpError
	if !errors.Is(err, syscall.EADDRINUSE) || !errors.As(err, &oe) || oe.Op != "listen" || oe.Net != "udp" || oe.Addr == nil || oe.Addr.String() != "10.0.0.1:4000" {
		t.Fatalf("second bind of :4000: %#v, want EADDRINUSE in a listen OpError with the address", err)
	}
	for _, bad := range []string{"10.0.0.1", "10.0.0.1:port", "10.0.0.1:70000", "nosuchhost:53", ":-1", "[fe80::1%eth0]:5"} {
		_, err := a.ListenPacket("udp", bad)
		var ae *net.AddrError
		if !errors.As(err, &ae) || !errors.As(err, &oe) || oe.Op != "listen" {
			t.Errorf("ListenPacket(%q): %v, want a *net.AddrError in a listen OpError", bad, err)
		}
	}
	if _, err := a.ListenPacket("udp", "10.0.0.9:1"); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Errorf("bind to a foreign address: %v, want EADDRNOTAVAIL", err)
	}
	if _, err := a.ListenPacket("udp6", ":1"); !errors.Is(err, syscall.EAFNOSUPPORT) {
		t.Errorf("udp6: %v, want EAFNOSUPPORT", err)
	}
	if _, err := a.ListenPacket("udp", "[::1]:1"); !errors.Is(err, syscall.EAFNOSUPPORT) {
		t.Errorf("IPv6 address: %v, want EAFNOSUPPORT", err)
	}
	var une net.UnknownNetworkError
	if _, err := a.ListenPacket("tcp", ":1"); !errors.As(err, &une) {
		t.Errorf("network tcp: %v, want UnknownNetworkError", err)
	}
	// An IPv4-mapped IPv6 literal is the IPv4 address.
	if c, err := a.ListenPacket("udp", "[::ffff:10.0.0.1]:4001"); err != nil {
		t.Errorf("IPv4-mapped address: %v", err)
	} else {
		c.Close()
	}
}

func TestUDPMessageSize(t *testing.T) {
	a, _ := newUDPPair(t, nil, nil)
	cli := listen(t, a, "")
	if got := a.MaxUDPPayload(); got != 65507 {
		t.Fatalf("MaxUDPPayload = %d, want 65507 (the IPv4 limit, through the large buffers)", got)
	}
	dst := netip.AddrPortFrom(addrB, 9)
	for _, n := range []int{65508, 70000} {
		if _, err := cli.WriteToUDPAddrPort(make([]byte, n), dst); !errors.Is(err, syscall.EMSGSIZE) {
			t.Fatalf("%d-byte write: %v, want EMSGSIZE", n, err)
		}
	}
	for _, n := range []int{2040, 2041, 65507} {
		if _, err := cli.WriteToUDPAddrPort(make([]byte, n), dst); err != nil {
			t.Fatalf("%d-byte write: %v", n, err)
		}
	}

	// Without the large buffers a datagram must fit one link buffer.
	small, _ := newUDPPair(t, nil, func(a, b *ustack.Config) { a.UDPLargeBuffers = -1 })
	if got, want := small.MaxUDPPayload(), 2048-8; got != want {
		t.Fatalf("MaxUDPPayload with 2048-byte buffers and no large ones = %d, want %d", got, want)
	}
	c := listen(t, small, "")
	if _, err := c.WriteToUDPAddrPort(make([]byte, 2041), dst); !errors.Is(err, syscall.EMSGSIZE) {
		t.Fatalf("2041-byte write: %v, want EMSGSIZE", err)
	}
}

// A 60000-byte datagram crosses link/mem with default 2048-byte buffers:
// built in a large buffer, fragmented by IP, reassembled by the peer.
func TestUDPLargeDatagramDefaultBuffers(t *testing.T) {
	a, b := newUDPPair(t, nil, nil)
	srv := listen(t, b, ":7000")
	cli := listen(t, a, "")
	msg := make([]byte, 60000)
	for i := range msg {
		msg[i] = byte(i * 13)
	}
	if _, err := cli.WriteToUDPAddrPort(msg, netip.AddrPortFrom(addrB, 7000)); err != nil {
		t.Fatal(err)
	}
	srv.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 70000)
	n, _, err := srv.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:n], msg) {
		t.Fatalf("received %d bytes, want the 60000 sent", n)
	}
}

func TestUDPWriteErrors(t *testing.T) {
	a, _ := newUDPPair(t, nil, nil)
	cli := listen(t, a, "")
	if _, err := cli.WriteToUDPAddrPort([]byte("x"), netip.MustParseAddrPort("192.0.2.1:53")); !errors.Is(err, syscall.ENETUNREACH) {
		t.Errorf("write off-link without a gateway: %v, want ENETUNREACH", err)
	}
	if _, err := cli.WriteToUDPAddrPort([]byte("x"), netip.MustParseAddrPort("10.0.0.2:0")); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("write to port 0: %v, want EINVAL", err)
	}
	if _, err := cli.WriteToUDPAddrPort([]byte("x"), netip.MustParseAddrPort("[2001:db8::1]:53")); !errors.Is(err, syscall.EAFNOSUPPORT) {
		t.Errorf("write to IPv6: %v, want EAFNOSUPPORT", err)
	}
	if _, err := cli.WriteTo([]byte("x"), &net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 1}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("write to a TCP address: %v, want EINVAL", err)
	}
	c, _ := a.UDPCounters()
	if c.OutErrors != 1 || c.OutDatagrams != 0 {
		t.Errorf("counters %+v, want one OutErrors (no route)", c)
	}
}

// A datagram to a port nobody bound is counted in NoPorts and answered
// with ICMP port unreachable, which the sender's stack counts.
func TestUDPPortUnreachable(t *testing.T) {
	a, b := newUDPPair(t, nil, nil)
	cli := listen(t, a, "")
	if _, err := cli.WriteToUDPAddrPort([]byte("anyone?"), netip.AddrPortFrom(addrB, 4444)); err != nil {
		t.Fatal(err)
	}
	waitCounter(t, b, func(c udpCounters) bool { return c.NoPorts == 1 })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, _ := a.IPCounters()
		if c.InDestUnreachs == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sender counted %d destination unreachables, want 1", c.InDestUnreachs)
		}
		time.Sleep(time.Millisecond)
	}
	cb, _ := b.IPCounters()
	if cb.OutDestUnreachs != 1 {
		t.Fatalf("receiver sent %d destination unreachables, want 1", cb.OutDestUnreachs)
	}
}

// A socket's receive queue holds at most UDPRecvBuffer bytes of buffer
// memory; the rest is dropped and counted.
func TestUDPRecvBufferOverflow(t *testing.T) {
	// 4 × 2048-byte buffers fit; a fifth does not.
	a, b := newUDPPair(t, nil, func(_, cb *ustack.Config) { cb.UDPRecvBuffer = 4 * 2048 })
	srv := listen(t, b, ":7000")
	cli := listen(t, a, "")
	dst := netip.AddrPortFrom(addrB, 7000)
	for i := range 10 {
		if _, err := cli.WriteToUDPAddrPort([]byte{byte(i)}, dst); err != nil {
			t.Fatal(err)
		}
	}
	waitCounter(t, b, func(c udpCounters) bool { return c.InDatagrams+c.RcvbufErrors == 10 })
	c, _ := b.UDPCounters()
	if c.InDatagrams != 4 || c.RcvbufErrors != 6 || c.InErrors != 6 {
		t.Fatalf("counters %+v, want 4 queued and 6 RcvbufErrors (also InErrors)", c)
	}
	buf := make([]byte, 4)
	srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := range 4 {
		if n, _, err := srv.ReadFromUDPAddrPort(buf); err != nil || n != 1 || buf[0] != byte(i) {
			t.Fatalf("read %d: %v %v", i, buf[:n], err)
		}
	}
	// Reading made room again; and a larger SO_RCVBUF lets more wait.
	if err := srv.SetReadBuffer(6 * 2048); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetReadBuffer(-1); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("SetReadBuffer(-1): %v, want EINVAL", err)
	}
	for i := range 8 {
		cli.WriteToUDPAddrPort([]byte{byte(100 + i)}, dst)
	}
	waitCounter(t, b, func(c udpCounters) bool { return c.InDatagrams+c.RcvbufErrors == 18 })
	if c, _ := b.UDPCounters(); c.InDatagrams != 10 {
		t.Fatalf("counters %+v after raising SO_RCVBUF to 6 buffers, want 6 more queued", c)
	}
	for i := range 6 {
		if n, _, err := srv.ReadFromUDPAddrPort(buf); err != nil || n != 1 || buf[0] != byte(100+i) {
			t.Fatalf("read after draining: %v %v", buf[:n], err)
		}
	}
}

type udpCounters = struct {
	InDatagrams, NoPorts, InErrors, OutDatagrams, RcvbufErrors, SndbufErrors, InCsumErrors, IgnoredMulti, OutErrors uint64
}

func waitCounter(t testing.TB, s *ustack.Stack, ok func(udpCounters) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := s.UDPCounters()
		if err != nil {
			t.Fatal(err)
		}
		if ok(udpCounters(c)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("counters never got there: %+v", c)
		}
		time.Sleep(time.Millisecond)
	}
}

var _ = shard.Adaptive

// A stack can send to its own address: the IP layer loops the datagram
// back, and it reaches the other socket.
func TestUDPToSelf(t *testing.T) {
	a, _ := newUDPPair(t, nil, nil)
	one, two := listen(t, a, ""), listen(t, a, "10.0.0.1:8080")
	if _, err := one.WriteToUDPAddrPort([]byte("me"), netip.AddrPortFrom(addrA, 8080)); err != nil {
		t.Fatal(err)
	}
	two.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 8)
	n, from, err := two.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "me" || from != netip.AddrPortFrom(addrA, port(one)) {
		t.Fatalf("read %q from %v: %v", buf[:n], from, err)
	}
}

// Closing a socket frees the datagrams waiting on it: every buffer goes
// back to its pool.
func TestUDPCloseFreesQueue(t *testing.T) {
	la, lb := mem.Pair()
	a, err := ustack.New(ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24")})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := ustack.New(ustack.Config{Link: lb, Addr: netip.MustParsePrefix("10.0.0.2/24")})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := listen(t, b, ":7100")
	cli := listen(t, a, "")
	for range 20 {
		cli.WriteToUDPAddrPort([]byte("queued"), netip.AddrPortFrom(addrB, 7100))
	}
	waitCounter(t, b, func(c udpCounters) bool { return c.InDatagrams == 20 })
	srv.Close()
	// The datagrams were in a's pool (link/mem hands the sender's buffer
	// over); they are all back once b's socket is closed.
	pool := la.Pool()
	deadline := time.Now().Add(5 * time.Second)
	for pool.InUse() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d buffers still in use after Close", pool.InUse())
		}
		time.Sleep(time.Millisecond)
	}
}

// On Manual stacks (the simulator's way) everything runs on the caller's
// goroutine: the write is sent when it is made, delivery happens in Step,
// and a read finds the datagram without blocking.
func TestUDPManualStacks(t *testing.T) {
	a, b := newUDPPair(t, nil, func(ca, cb *ustack.Config) { ca.Manual, cb.Manual = true, true })
	srv := listen(t, b, ":7")
	cli := listen(t, a, "")
	if _, err := cli.WriteToUDPAddrPort([]byte("sim"), netip.AddrPortFrom(addrB, 7)); err != nil {
		t.Fatal(err)
	}
	var now time.Duration
	for range 50 { // ARP request, reply, the datagram
		a.Step(now)
		b.Step(now)
		now += time.Millisecond
		if c, _ := b.UDPCounters(); c.InDatagrams == 1 {
			break
		}
	}
	b.Step(now)                                          // hand the datagram over at the end of an iteration
	srv.SetReadDeadline(time.Now().Add(5 * time.Second)) // never blocks forever
	buf := make([]byte, 8)
	n, from, err := srv.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "sim" || from.Port() != port(cli) {
		t.Fatalf("read %q from %v: %v", buf[:n], from, err)
	}
}
