package ustack_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link/mem"
	"github.com/ustack/ustack/shard"
	"github.com/ustack/ustack/tcp"
)

// connPair dials from a to a listener on b and returns both ends.
func connPair(t testing.TB, a, b *ustack.Stack) (client, server *ustack.TCPConn) {
	t.Helper()
	ln, err := b.ListenTCP("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   *ustack.TCPConn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.AcceptTCP()
		ch <- res{c, err}
	}()
	addr := "10.0.0.2:" + portOf(ln.Addr())
	cc, err := a.DialTCPContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { cc.Close(); r.c.Close() })
	return cc, r.c
}

func portOf(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

func TestTCPConnEchoAndEOF(t *testing.T) {
	a, b := newPair(t, shard.Adaptive)
	c, s := connPair(t, a, b)
	if got, want := c.RemoteAddr().String(), s.LocalAddr().String(); got != want {
		t.Errorf("client remote %s, server local %s", got, want)
	}
	if got, want := c.LocalAddr().String(), s.RemoteAddr().String(); got != want {
		t.Errorf("client local %s, server remote %s", got, want)
	}
	msg := bytes.Repeat([]byte("ustack "), 10000)
	go func() {
		c.Write(msg)
		c.CloseWrite()
	}()
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("got %d bytes, want %d identical", len(got), len(msg))
	}
	// Read after the peer's FIN keeps returning io.EOF.
	if n, err := s.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("Read after EOF = %d, %v; want 0, io.EOF", n, err)
	}
	// The other direction still works after the client's half close.
	if _, err := s.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	got, err = io.ReadAll(c)
	if err != nil || string(got) != "back" {
		t.Fatalf("client read %q, %v", got, err)
	}
	if info := c.Info(); info.BytesAcked < uint64(len(msg)) {
		t.Errorf("Info().BytesAcked = %d, want ≥ %d", info.BytesAcked, len(msg))
	}
}

func opErr(t *testing.T, err error, op string) *net.OpError {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v (%T) is not a *net.OpError", err, err)
	}
	if oe.Op != op {
		t.Errorf("OpError.Op = %q, want %q (%v)", oe.Op, op, err)
	}
	return oe
}

func TestTCPDialRefused(t *testing.T) {
	a, _ := newPair(t, shard.Adaptive)
	_, err := a.Dial("tcp", "10.0.0.2:9")
	if !errors.Is(err, syscall.ECONNREFUSED) || !errors.Is(err, tcp.ErrConnRefused) {
		t.Fatalf("dial to a closed port: %v; want ECONNREFUSED and tcp.ErrConnRefused", err)
	}
	oe := opErr(t, err, "dial")
	if oe.Net != "tcp" || oe.Addr == nil || oe.Addr.String() != "10.0.0.2:9" {
		t.Errorf("OpError Net %q Addr %v", oe.Net, oe.Addr)
	}
	if oe.Source == nil {
		t.Errorf("OpError has no Source")
	}
}

func TestTCPReset(t *testing.T) {
	a, b := newPair(t, shard.Adaptive)
	c, s := connPair(t, a, b)
	if err := s.SetLinger(0); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := c.Read(make([]byte, 10))
	if !errors.Is(err, syscall.ECONNRESET) || !errors.Is(err, tcp.ErrConnReset) {
		t.Fatalf("read after the peer's reset: %v; want ECONNRESET", err)
	}
	opErr(t, err, "read")
	_, err = c.Write([]byte("x"))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("write after the peer's reset: %v; want ECONNRESET", err)
	}
	opErr(t, err, "write")
}

func TestTCPUseAfterClose(t *testing.T) {
	a, b := newPair(t, shard.Adaptive)
	c, _ := connPair(t, a, b)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	} else {
		opErr(t, err, "read")
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	} else {
		opErr(t, err, "write")
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v", err)
	} else {
		opErr(t, err, "close")
	}
	if err := c.SetDeadline(time.Now()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("SetDeadline after Close: %v", err)
	}

	ln, err := b.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := ln.Accept(); done <- err }()
	time.Sleep(10 * time.Millisecond)
	ln.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("blocked Accept after Close: %v", err)
	} else {
		opErr(t, err, "accept")
	}
	if err := ln.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second listener Close: %v", err)
	}
}

func TestTCPCloseUnblocksRead(t *testing.T) {
	a, b := newPair(t, shard.Adaptive)
	c, _ := connPair(t, a, b)
	done := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 1)); done <- err }()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("blocked Read after Close: %v", err)
	}
}

func TestTCPListenErrors(t *testing.T) {
	a, _ := newPair(t, shard.Adaptive)
	ln, err := a.Listen("tcp", "10.0.0.1:80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ln.Addr().String() != "10.0.0.1:80" {
		t.Errorf("Addr %v", ln.Addr())
	}
	_, err = a.Listen("tcp4", ":80")
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("Listen on a port in use: %v; want EADDRINUSE", err)
	} else {
		opErr(t, err, "listen")
	}
	_, err = a.Listen("tcp", "10.0.0.9:81")
	if !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Errorf("Listen on a foreign address: %v; want EADDRNOTAVAIL", err)
	}
	for _, bad := range []string{"10.0.0.1", "10.0.0.1:x", "10.0.0.1:99999", "host.example:80"} {
		_, err := a.Listen("tcp", bad)
		var ae *net.AddrError
		if !errors.As(err, &ae) {
			t.Errorf("Listen(%q): %v; want a *net.AddrError", bad, err)
		} else {
			opErr(t, err, "listen")
		}
		_, err = a.Dial("tcp", bad)
		if !errors.As(err, &ae) {
			t.Errorf("Dial(%q): %v; want a *net.AddrError", bad, err)
		} else {
			opErr(t, err, "dial")
		}
	}
	for _, f := range []func() error{
		func() error { _, err := a.Listen("tcp6", ":80"); return err },
		func() error { _, err := a.Dial("tcp6", "10.0.0.2:80"); return err },
		func() error { _, err := a.Dial("tcp", "[2001:db8::1]:80"); return err },
	} {
		if err := f(); !errors.Is(err, syscall.EAFNOSUPPORT) {
			t.Errorf("IPv6: %v; want EAFNOSUPPORT", err)
		}
	}
	var une net.UnknownNetworkError
	if _, err := a.Dial("sctp", "10.0.0.2:80"); !errors.As(err, &une) {
		t.Errorf("Dial(sctp): %v", err)
	}
}

func TestTCPWriteAfterCloseWriteIsEPIPE(t *testing.T) {
	a, b := newPair(t, shard.Adaptive)
	c, _ := connPair(t, a, b)
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_, err := c.Write([]byte("late"))
	if !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Write after CloseWrite: %v; want EPIPE", err)
	}
	opErr(t, err, "write")
}

func TestTCPCloseRead(t *testing.T) {
	a, b := newPair(t, shard.Adaptive)
	c, _ := connPair(t, a, b)
	c.CloseRead()
	if n, err := c.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Fatalf("Read after CloseRead = %d, %v; want io.EOF", n, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
}

func TestTCPDeadlines(t *testing.T) {
	a, b := newPair(t, shard.Adaptive)
	c, s := connPair(t, a, b)

	// A deadline in the past fails at once, even with data waiting.
	s.Write([]byte("data"))
	time.Sleep(10 * time.Millisecond)
	c.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := c.Read(make([]byte, 4)); !isTimeout(err) {
		t.Fatalf("Read with a past deadline: %v", err)
	} else {
		opErr(t, err, "read")
	}
	c.SetReadDeadline(time.Time{})
	if n, err := c.Read(make([]byte, 4)); n != 4 || err != nil {
		t.Fatalf("Read after clearing the deadline: %d, %v", n, err)
	}

	// A blocked Read times out; extending its deadline while it is
	// blocked keeps it waiting until the new deadline.
	start := time.Now()
	c.SetReadDeadline(start.Add(30 * time.Millisecond))
	done := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 1)); done <- err }()
	time.Sleep(10 * time.Millisecond)
	c.SetReadDeadline(start.Add(150 * time.Millisecond))
	err := <-done
	if !isTimeout(err) {
		t.Fatalf("blocked Read: %v", err)
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("Read returned after %v, before the extended deadline", el)
	}

	// Writes time out once the send and receive buffers are full.
	c.SetWriteDeadline(time.Now().Add(time.Second))
	big := make([]byte, 4<<20)
	n, err := c.Write(big)
	if !isTimeout(err) || n <= 0 || n >= len(big) {
		t.Fatalf("Write into a full pipe = %d, %v; want a partial count and a timeout", n, err)
	}
	opErr(t, err, "write")

	// Accept deadline.
	ln, err := b.ListenTCP("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ln.SetDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := ln.Accept(); !isTimeout(err) {
		t.Fatalf("Accept past its deadline: %v", err)
	} else {
		opErr(t, err, "accept")
	}
}

// A dial whose next hop never answers ARP fails with EHOSTUNREACH after
// the neighbour cache gives up (3 probes 20 ms apart here).
func TestTCPDialUnansweredARP(t *testing.T) {
	la, _ := mem.Pair()
	cfg := ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24")}
	cfg.IP.Neigh.RetransTime = 20 * time.Millisecond
	s, err := ustack.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = s.DialContext(ctx, "tcp", "10.0.0.3:80")
	if !errors.Is(err, syscall.EHOSTUNREACH) {
		t.Fatalf("dial to a silent neighbour: %v; want EHOSTUNREACH", err)
	}
	opErr(t, err, "dial")
}

func TestTCPDialContext(t *testing.T) {
	la, _ := mem.Pair()
	s, err := ustack.New(ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	_, err = s.DialContext(ctx, "tcp", "10.0.0.3:80")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled dial: %v; want context.Canceled", err)
	}
	opErr(t, err, "dial")

	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err = s.DialContext(ctx, "tcp", "10.0.0.3:80")
	var ne net.Error
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("dial past its deadline: %v; want a timeout", err)
	}

	// A context already done fails before anything is sent.
	_, err = s.DialContext(ctx, "tcp", "10.0.0.3:80")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("dial with a done context: %v", err)
	}
}

// The error mapping keeps the engine's error and adds the errno Linux
// reports for it.
func TestTCPErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		err   error
		errno syscall.Errno
	}{
		{tcp.ErrConnRefused, syscall.ECONNREFUSED},
		{tcp.ErrConnReset, syscall.ECONNRESET},
		{tcp.ErrTimeout, syscall.ETIMEDOUT},
		{tcp.ErrConnAborted, syscall.ECONNABORTED},
		{tcp.ErrWriteShutdown, syscall.EPIPE},
	} {
		got := ustack.SockError(tc.err)
		if !errors.Is(got, tc.errno) || !errors.Is(got, tc.err) {
			t.Errorf("SockError(%v) = %v; want %v in the chain as well", tc.err, got, tc.errno)
		}
	}
	if got := ustack.SockError(tcp.ErrTimeout); !got.(net.Error).Timeout() {
		t.Errorf("ETIMEDOUT is not a timeout")
	}
}

func TestTCPSocketOptions(t *testing.T) {
	a, b := newPair(t, shard.Adaptive)
	c, s := connPair(t, a, b)
	for name, err := range map[string]error{
		"SetNoDelay(false)":  c.SetNoDelay(false),
		"SetNoDelay(true)":   c.SetNoDelay(true),
		"SetKeepAlive":       c.SetKeepAlive(true),
		"SetKeepAlivePeriod": c.SetKeepAlivePeriod(time.Minute),
		"SetKeepAliveConfig": c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true}),
		"SetReadBuffer":      c.SetReadBuffer(1 << 20),
		"SetWriteBuffer":     c.SetWriteBuffer(1 << 20),
		"SetLinger":          c.SetLinger(-1),
	} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// As *net.TCPConn: a negative period leaves the setting alone.
	if err := c.SetKeepAlivePeriod(-1); err != nil {
		t.Errorf("SetKeepAlivePeriod(-1) = %v, want nil as the net package", err)
	}
	if err := c.SetReadBuffer(-1); err == nil {
		t.Errorf("SetReadBuffer(-1) succeeded")
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(s, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q, %v", buf, err)
	}
	if st := c.Info().State; st != tcp.Established {
		t.Errorf("Info().State = %v", st)
	}
}

// Steady-state Read and Write allocate nothing.
func TestTCPReadWriteAllocs(t *testing.T) {
	a, b := newPair(t, shard.Adaptive)
	c, s := connPair(t, a, b)
	msg := make([]byte, 512)
	buf := make([]byte, 512)
	roundTrip := func() {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(s, buf); err != nil {
			t.Fatal(err)
		}
	}
	for range 100 {
		roundTrip()
	}
	if n := testing.AllocsPerRun(500, roundTrip); n != 0 {
		t.Errorf("Write+Read allocate %v times per run, want 0", n)
	}
}

// Connections beyond the backlog are not accepted by the engine: they
// wait (the final ACK is dropped, as on Linux) until Accept makes room.
func TestTCPAcceptBacklog(t *testing.T) {
	la, lb := mem.Pair()
	a, err := ustack.New(ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24")})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	cfg := ustack.Config{Link: lb, Addr: netip.MustParsePrefix("10.0.0.2/24")}
	cfg.TCP.Backlog = 2
	b, err := ustack.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ln, err := b.ListenTCP("tcp", ":7")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			c, err := a.Dial("tcp", "10.0.0.2:7")
			if err == nil {
				defer c.Close()
				// The data segment (retransmitted) also completes a
				// handshake whose final ACK the full queue dropped.
				if _, err = c.Write([]byte{1}); err == nil {
					var one [1]byte
					_, err = io.ReadFull(c, one[:])
				}
			}
			errs <- err
		}()
	}
	waitFor(t, "a listen overflow", func() bool {
		st, err := b.TCPStats()
		return err == nil && st.Counters.ListenOverflows > 0
	})
	for i := range n {
		ln.SetDeadline(time.Now().Add(5 * time.Second))
		c, err := ln.AcceptTCP()
		if err != nil {
			t.Fatalf("accept %d: %v", i, err)
		}
		c.Write([]byte{byte(i)})
		defer c.Close()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("client: %v", err)
		}
	}
}

// A SYN nobody answers is retransmitted SynRetries times; then the dial
// fails with ETIMEDOUT. The peer here drops SYNs because its only
// listener's accept queue (backlog 1) is full.
func TestTCPDialSynTimeout(t *testing.T) {
	la, lb := mem.Pair()
	acfg := ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24")}
	acfg.TCP.SynRetries = 1
	acfg.TCP.RTOInitial = 100 * time.Millisecond
	acfg.TCP.RTOMin = 50 * time.Millisecond
	a, err := ustack.New(acfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	bcfg := ustack.Config{Link: lb, Addr: netip.MustParsePrefix("10.0.0.2/24")}
	bcfg.TCP.Backlog = 1
	bcfg.TCP.DisableSynCookies = true
	b, err := ustack.New(bcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ln, err := b.Listen("tcp", ":7")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	first, err := a.Dial("tcp", "10.0.0.2:7")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	waitFor(t, "the first connection on the accept queue", func() bool {
		st, err := b.TCPStats()
		return err == nil && st.Counters.PassiveOpens > 0
	})
	_, err = a.Dial("tcp", "10.0.0.2:7")
	if !errors.Is(err, syscall.ETIMEDOUT) || !errors.Is(err, tcp.ErrTimeout) {
		t.Fatalf("dial whose SYNs go unanswered: %v; want ETIMEDOUT", err)
	}
	opErr(t, err, "dial")
}

// Closing the stack fails every blocked socket call with net.ErrClosed.
func TestTCPStackCloseUnblocks(t *testing.T) {
	la, lb := mem.Pair()
	a, err := ustack.New(ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ustack.New(ustack.Config{Link: lb, Addr: netip.MustParsePrefix("10.0.0.2/24")})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, _ := connPair(t, a, b)
	ln, err := a.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 3)
	go func() { _, err := c.Read(make([]byte, 1)); errs <- err }()
	go func() { _, err := ln.Accept(); errs <- err }()
	go func() { _, err := a.Dial("tcp", "10.0.0.3:80"); errs <- err }() // ARP never answered
	time.Sleep(20 * time.Millisecond)
	a.Close()
	for range 3 {
		select {
		case err := <-errs:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("blocked call after the stack closed: %v; want net.ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a blocked call did not return after the stack closed")
		}
	}
	if _, err := a.Dial("tcp", "10.0.0.2:80"); !errors.Is(err, ustack.ErrClosed) || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Dial on a closed stack: %v", err)
	}
}

// waitFor polls cond every millisecond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// A reader is woken once per burst, however many segments the burst
// carried: far fewer wake-ups than segments.
func TestTCPReaderWokenPerBurst(t *testing.T) {
	a, b := newPair(t, shard.Adaptive)
	c, s := connPair(t, a, b)
	const total = 4 << 20
	go func() {
		s.Write(make([]byte, total))
		s.CloseWrite()
	}()
	n, err := io.Copy(io.Discard, c)
	if err != nil || n != total {
		t.Fatalf("read %d bytes, %v", n, err)
	}
	segs := c.Info().SegsIn
	wakes := ustack.ReadWakes(c)
	t.Logf("%d segments, %d reader wake-ups", segs, wakes)
	if wakes == 0 || wakes*2 > segs {
		t.Errorf("%d reader wake-ups for %d segments; want at most one per burst", wakes, segs)
	}
}

// Calls parked on the shard are withdrawn cleanly: a blocked Read by
// CloseRead (io.EOF), a blocked Write by Close (net.ErrClosed, with the
// count already taken), and the connection stays usable in between.
func TestTCPWithdrawParkedCalls(t *testing.T) {
	a, b := newPair(t, shard.Adaptive)
	c, s := connPair(t, a, b)
	rd := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 8)); rd <- err }()
	time.Sleep(20 * time.Millisecond)
	c.CloseRead()
	if err := <-rd; err != io.EOF {
		t.Fatalf("Read blocked across CloseRead: %v; want io.EOF", err)
	}

	// The peer reads nothing: the Write parks once both buffers fill.
	type res struct {
		n   int
		err error
	}
	wr := make(chan res, 1)
	go func() { n, err := c.Write(make([]byte, 8<<20)); wr <- res{n, err} }()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	r := <-wr
	if !errors.Is(r.err, net.ErrClosed) || r.n <= 0 || r.n >= 8<<20 {
		t.Fatalf("Write blocked across Close = %d, %v; want a partial count and net.ErrClosed", r.n, r.err)
	}
	// The server still receives what was taken before Close.
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.Copy(io.Discard, s)
	if err != nil || n != int64(r.n) {
		t.Fatalf("server read %d bytes, %v; want %d and EOF", n, err, r.n)
	}
}

// Sockets hold frame buffers only while data waits: once every
// connection is closed (orderly, reset with unread data, or abandoned by
// a cancelled dial) all buffers are back in the pools.
func TestTCPNoBufferLeak(t *testing.T) {
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
	for i := range 20 {
		c, s := connPair(t, a, b)
		data := make([]byte, 100_000)
		go s.Write(data)
		if i%2 == 0 {
			io.ReadFull(c, data) // read it all: orderly close
		}
		// Odd rounds close with unread data: a reset.
		c.Close()
		s.Close()
	}
	waitFor(t, "all frame buffers back in the pools", func() bool {
		return la.Pool().InUse() == 0 && lb.Pool().InUse() == 0
	})
}
