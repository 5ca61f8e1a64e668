package udp

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/ustack/ustack/ip"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

func TestConfigDefaultsAndLimits(t *testing.T) {
	tb, _ := newTable(t, Config{})
	c := tb.Config()
	if c.RecvBuffer != 212992 || c.MinPort != 32768 || c.MaxPort != 60999 {
		t.Fatalf("defaults %+v", c)
	}
	for _, bad := range []Config{{RecvBuffer: -1}, {RecvBuffer: MaxRecvBuffer + 1}, {MinPort: 10}, {MinPort: 2000, MaxPort: 1000}} {
		if _, err := New(bad, &fakeNet{}); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", bad, err)
		}
	}
	if _, err := New(Config{}, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("New without a Network: %v", err)
	}
}

func TestBindConflictsAndUnbind(t *testing.T) {
	tb, _ := newTable(t, Config{})
	e, _ := bind(t, tb, 53)
	if got := e.LocalAddr(); got != netip.MustParseAddrPort("0.0.0.0:53") {
		t.Fatalf("LocalAddr %v", got)
	}
	other := NewEndpoint(nil)
	if err := tb.Bind(other, self, 53); !errors.Is(err, ErrAddrInUse) {
		t.Fatalf("second bind of 53: %v, want ErrAddrInUse", err)
	}
	if err := tb.Bind(e, netip.Addr{}, 54); !errors.Is(err, ErrBound) {
		t.Fatalf("rebinding a bound endpoint: %v, want ErrBound", err)
	}
	if err := tb.Bind(other, netip.MustParseAddr("::1"), 55); !errors.Is(err, ErrBadAddress) {
		t.Fatalf("IPv6 bind: %v, want ErrBadAddress", err)
	}
	tb.Unbind(e)
	tb.Unbind(e) // no-op
	if tb.Bound() != 0 || tb.Lookup(53) != nil {
		t.Fatal("port still bound after Unbind")
	}
	if err := tb.Bind(other, self, 53); err != nil {
		t.Fatalf("bind after Unbind: %v", err)
	}
	if got := other.LocalAddr(); got != netip.AddrPortFrom(self, 53) {
		t.Fatalf("LocalAddr %v", got)
	}
}

// Ephemeral ports stay in the range, start at a seed-dependent random
// point (RFC 6056 Algorithm 1), skip bound ports, and run out cleanly.
func TestEphemeralPorts(t *testing.T) {
	tb, _ := newTable(t, Config{MinPort: 1000, MaxPort: 1009})
	seen := map[uint16]bool{}
	for range 10 {
		e := NewEndpoint(nil)
		if err := tb.Bind(e, netip.Addr{}, 0); err != nil {
			t.Fatal(err)
		}
		p := e.LocalAddr().Port()
		if p < 1000 || p > 1009 || seen[p] {
			t.Fatalf("ephemeral port %d: outside 1000-1009 or repeated", p)
		}
		seen[p] = true
	}
	if err := tb.Bind(NewEndpoint(nil), netip.Addr{}, 0); !errors.Is(err, ErrNoEphemeral) {
		t.Fatalf("bind with the range full: %v, want ErrNoEphemeral", err)
	}
	// An explicitly bound port inside the range is skipped.
	tb2, _ := newTable(t, Config{MinPort: 1000, MaxPort: 1001})
	bind(t, tb2, 1000)
	e := NewEndpoint(nil)
	if err := tb2.Bind(e, netip.Addr{}, 0); err != nil || e.LocalAddr().Port() != 1001 {
		t.Fatalf("bind beside a taken port: %v %v", e.LocalAddr(), err)
	}

	// First picks spread over the default range and depend on the seed.
	first := func(seed byte) uint16 {
		var s [32]byte
		s[0] = seed
		tb, _ := newTable(t, Config{Seed: s})
		e := NewEndpoint(nil)
		if err := tb.Bind(e, netip.Addr{}, 0); err != nil {
			t.Fatal(err)
		}
		return e.LocalAddr().Port()
	}
	distinct := map[uint16]bool{}
	for s := range 20 {
		distinct[first(byte(s))] = true
	}
	if len(distinct) < 15 {
		t.Fatalf("20 seeds gave only %d distinct first ports", len(distinct))
	}
	if a, b := first(7), first(7); a != b {
		t.Fatal("same seed, different first port")
	}
}

// Delivery reads like RFC 768 and Linux's udp_rcv: a good datagram is
// queued with its sender and payload intact and handed over on Flush, once
// per endpoint however many arrived.
func TestDeliverAndFlush(t *testing.T) {
	tb, _ := newTable(t, Config{})
	e, s := bind(t, tb, 7)
	src := netip.AddrPortFrom(peer, 40000)
	for i := range 3 {
		b, p := datagram(t, testPool, src, netip.AddrPortFrom(self, 7), []byte{'a' + byte(i)})
		tb.Deliver(0, p, b, nopOut{})
	}
	if s.calls != 0 {
		t.Fatal("Receiver called before Flush")
	}
	if tb.Pending() != 1 {
		t.Fatalf("%d endpoints pending, want 1", tb.Pending())
	}
	if e.Charged() != 3*2048 {
		t.Fatalf("charged %d, want 3 buffers (6144)", e.Charged())
	}
	tb.Flush()
	if s.calls != 1 || len(s.bufs) != 3 {
		t.Fatalf("Flush made %d calls with %d datagrams, want 1 with 3", s.calls, len(s.bufs))
	}
	for i, b := range s.bufs {
		from, payload := Datagram(b)
		if from != src || !bytes.Equal(payload, []byte{'a' + byte(i)}) {
			t.Fatalf("datagram %d: from %v payload %q", i, from, payload)
		}
	}
	s.drain()
	if e.Charged() != 0 || testPool.InUse() != 0 {
		t.Fatalf("after draining: charged %d, %d buffers in use", e.Charged(), testPool.InUse())
	}
	tb.Flush()
	if s.calls != 1 {
		t.Fatal("empty Flush called the Receiver")
	}
	if c := tb.Counters(); c.InDatagrams != 3 || c.InErrors != 0 {
		t.Fatalf("counters %+v", c)
	}
}

func TestDeliverDrops(t *testing.T) {
	tb, f := newTable(t, Config{})
	_, s := bind(t, tb, 7)
	src, dst := netip.AddrPortFrom(peer, 1234), netip.AddrPortFrom(self, 7)

	// Bad checksum: InCsumErrors and InErrors.
	b, p := datagram(t, testPool, src, dst, []byte("payload"))
	b.Bytes()[9] ^= 0xff
	tb.Deliver(0, p, b, nopOut{})
	// The same corruption with FlagCsumValid (a link that checked) passes.
	b, p = datagram(t, testPool, src, dst, []byte("payload"))
	b.Bytes()[9] ^= 0xff
	b.Flags |= link.FlagCsumValid
	tb.Deliver(0, p, b, nopOut{})
	// A zero checksum means none was computed (RFC 768): accepted.
	b, p = datagram(t, testPool, src, dst, []byte("nosum"))
	b.Bytes()[6], b.Bytes()[7] = 0, 0
	tb.Deliver(0, p, b, nopOut{})
	// Malformed: length field above the data, and below 8.
	b, p = datagram(t, testPool, src, dst, []byte("x"))
	b.Bytes()[4], b.Bytes()[5] = 0, 200
	tb.Deliver(0, p, b, nopOut{})
	b, p = datagram(t, testPool, src, dst, []byte("x"))
	b.Bytes()[4], b.Bytes()[5] = 0, 7
	tb.Deliver(0, p, b, nopOut{})
	// Shorter than a header.
	b, p = datagram(t, testPool, src, dst, nil)
	b.SetLen(5)
	tb.Deliver(0, p, b, nopOut{})
	// Unbound port: NoPorts and ICMP port unreachable.
	b, p = datagram(t, testPool, src, netip.AddrPortFrom(self, 8), []byte("?"))
	tb.Deliver(0, p, b, nopOut{})
	// Unbound port, broadcast: IgnoredMulti, no ICMP.
	b, p = datagram(t, testPool, src, netip.AddrPortFrom(netip.MustParseAddr("10.0.0.255"), 8), []byte("?"))
	p.Broadcast = true
	tb.Deliver(0, p, b, nopOut{})

	c := tb.Counters()
	want := Counters{InDatagrams: 2, InCsumErrors: 1, InErrors: 4, NoPorts: 1, IgnoredMulti: 1}
	if c != want {
		t.Fatalf("counters\n got %+v\nwant %+v", c, want)
	}
	if f.unreachable != 1 || f.lastCode != 3 {
		t.Fatalf("%d unreachables (code %d), want 1 port unreachable", f.unreachable, f.lastCode)
	}
	tb.Flush()
	s.drain()
	if testPool.InUse() != 0 {
		t.Fatalf("%d buffers leaked", testPool.InUse())
	}
}

// A datagram padded by the link beyond the UDP length is trimmed to it.
func TestDeliverTrimsToLength(t *testing.T) {
	tb, _ := newTable(t, Config{})
	_, s := bind(t, tb, 7)
	b, p := datagram(t, testPool, netip.AddrPortFrom(peer, 1), netip.AddrPortFrom(self, 7), []byte("abc"))
	b.Extend(10) // trailing bytes the UDP length does not cover
	tb.Deliver(0, p, b, nopOut{})
	tb.Flush()
	if _, payload := Datagram(s.bufs[0]); string(payload) != "abc" {
		t.Fatalf("payload %q, want \"abc\"", payload)
	}
	s.drain()
}

// An endpoint bound to the host's address does not take broadcasts; one
// bound to the unspecified address does.
func TestBoundAddressFiltersBroadcast(t *testing.T) {
	tb, f := newTable(t, Config{})
	e := NewEndpoint(&sink{})
	if err := tb.Bind(e, self, 67); err != nil {
		t.Fatal(err)
	}
	bcast := netip.MustParseAddr("10.0.0.255")
	b, p := datagram(t, testPool, netip.AddrPortFrom(peer, 68), netip.AddrPortFrom(bcast, 67), []byte("dhcp"))
	p.Broadcast = true
	tb.Deliver(0, p, b, nopOut{})
	if c := tb.Counters(); c.IgnoredMulti != 1 || c.InDatagrams != 0 || f.unreachable != 0 {
		t.Fatalf("broadcast to an address-bound port: %+v", c)
	}
	tb.Unbind(e)
	_, s := bind(t, tb, 67)
	b, p = datagram(t, testPool, netip.AddrPortFrom(peer, 68), netip.AddrPortFrom(bcast, 67), []byte("dhcp"))
	p.Broadcast = true
	tb.Deliver(0, p, b, nopOut{})
	tb.Flush()
	if len(s.bufs) != 1 {
		t.Fatal("broadcast not delivered to a wildcard-bound port")
	}
	s.drain()
}

// The receive buffer bounds buffer memory: datagrams are accepted while
// the charge held is below the limit (so one always fits), and reading
// makes room again.
func TestRecvBufferBound(t *testing.T) {
	tb, _ := newTable(t, Config{RecvBuffer: 3*2048 + 1})
	e, s := bind(t, tb, 9)
	deliver := func() {
		b, p := datagram(t, testPool, netip.AddrPortFrom(peer, 1), netip.AddrPortFrom(self, 9), []byte("x"))
		tb.Deliver(0, p, b, nopOut{})
	}
	for range 6 {
		deliver()
	}
	c := tb.Counters()
	if c.InDatagrams != 3 || c.RcvbufErrors != 3 || c.InErrors != 3 {
		t.Fatalf("counters %+v, want 3 queued, 3 RcvbufErrors", c)
	}
	tb.Flush()
	s.drain()
	deliver()
	if tb.Counters().InDatagrams != 4 {
		t.Fatal("no room after the reader drained the queue")
	}
	tb.Flush()
	s.drain()

	// A limit below one buffer still takes one datagram at a time.
	tiny, _ := newTable(t, Config{RecvBuffer: 1})
	e2, s2 := bind(t, tiny, 9)
	for range 2 {
		b, p := datagram(t, testPool, netip.AddrPortFrom(peer, 1), netip.AddrPortFrom(self, 9), []byte("x"))
		tiny.Deliver(0, p, b, nopOut{})
	}
	if c := tiny.Counters(); c.InDatagrams != 1 || c.RcvbufErrors != 1 {
		t.Fatalf("tiny buffer: %+v, want 1 queued, 1 dropped", c)
	}
	tiny.Flush()
	s2.drain()
	tiny.SetRecvBuffer(e2, 0)
	if tiny.RecvBuffer(e2) != 1 {
		t.Fatalf("SetRecvBuffer(0) gave %d, want the clamp 1", tiny.RecvBuffer(e2))
	}
	tb.SetRecvBuffer(e, MaxRecvBuffer+5)
	if tb.RecvBuffer(e) != MaxRecvBuffer {
		t.Fatalf("SetRecvBuffer above the maximum gave %d", tb.RecvBuffer(e))
	}
}

// Unbind frees what was queued but not yet flushed, and Flush skips the
// endpoint afterwards.
func TestUnbindFreesPending(t *testing.T) {
	tb, _ := newTable(t, Config{})
	e, s := bind(t, tb, 9)
	b, p := datagram(t, testPool, netip.AddrPortFrom(peer, 1), netip.AddrPortFrom(self, 9), []byte("x"))
	tb.Deliver(0, p, b, nopOut{})
	tb.Unbind(e)
	tb.Flush()
	if s.calls != 0 || testPool.InUse() != 0 || e.Charged() != 0 {
		t.Fatalf("after Unbind: %d calls, %d buffers in use, %d charged", s.calls, testPool.InUse(), e.Charged())
	}
}

func TestBuildAndOutput(t *testing.T) {
	tb, f := newTable(t, Config{})
	e, _ := bind(t, tb, 5000)
	src, dst := netip.AddrPortFrom(self, 5000), netip.AddrPortFrom(peer, 53)
	b := testPool.Get()
	if err := Build(b, src, dst, []byte("query")); err != nil {
		t.Fatal(err)
	}
	u, err := wire.ParseUDP(b.Bytes())
	if err != nil || u.SrcPort() != 5000 || u.DstPort() != 53 || string(u.Payload()) != "query" {
		t.Fatalf("built %x (%v)", b.Bytes(), err)
	}
	if !u.ChecksumValid4(src.Addr().As4(), dst.Addr().As4()) || u.Checksum() == 0 {
		t.Fatal("built datagram's checksum does not verify")
	}
	if b.Flags&link.FlagCsumValid == 0 {
		t.Fatal("FlagCsumValid not set")
	}
	if err := tb.Output(0, e, dst.Addr(), b, nopOut{}); err != nil || len(f.out) != 1 {
		t.Fatalf("Output: %v", err)
	}
	f.outErr = ip.ErrNoBuffer
	b = testPool.Get()
	Build(b, src, dst, nil)
	if err := tb.Output(0, e, dst.Addr(), b, nopOut{}); !errors.Is(err, ip.ErrNoBuffer) {
		t.Fatalf("Output with the IP layer out of buffers: %v", err)
	}
	f.outErr = ip.ErrNoRoute
	b = testPool.Get()
	Build(b, src, dst, nil)
	tb.Output(0, e, dst.Addr(), b, nopOut{})
	tb.Unbind(e)
	b = testPool.Get()
	Build(b, src, dst, nil)
	if err := tb.Output(0, e, dst.Addr(), b, nopOut{}); !errors.Is(err, ErrNotBound) {
		t.Fatalf("Output after Unbind: %v", err)
	}
	if c := tb.Counters(); c.OutDatagrams != 1 || c.SndbufErrors != 1 || c.OutErrors != 1 {
		t.Fatalf("counters %+v", c)
	}
	if testPool.InUse() != 0 {
		t.Fatalf("%d buffers leaked", testPool.InUse())
	}
}

func TestBuildLimits(t *testing.T) {
	if got := MaxPayload(2048); got != 2040 {
		t.Fatalf("MaxPayload(2048) = %d", got)
	}
	if got := MaxPayload(1 << 20); got != 65507 {
		t.Fatalf("MaxPayload(1MiB) = %d", got)
	}
	src, dst := netip.AddrPortFrom(self, 1), netip.AddrPortFrom(peer, 2)
	b := testPool.Get()
	defer b.Free()
	if err := Build(b, src, dst, make([]byte, 2041)); !errors.Is(err, ErrMsgSize) || b.Len() != 0 {
		t.Fatalf("2041 bytes into a 2048-byte buffer: %v (len %d)", err, b.Len())
	}
	if err := Build(b, src, dst, make([]byte, 65508)); !errors.Is(err, ErrMsgSize) {
		t.Fatalf("65508 bytes: %v", err)
	}
	if err := Build(b, src, netip.AddrPortFrom(peer, 0), nil); !errors.Is(err, ErrBadAddress) {
		t.Fatalf("port 0: %v", err)
	}
	if err := Build(b, src, netip.MustParseAddrPort("[::1]:5"), nil); !errors.Is(err, ErrBadAddress) {
		t.Fatalf("IPv6: %v", err)
	}
	if err := Build(b, src, dst, make([]byte, 2040)); err != nil {
		t.Fatalf("2040 bytes: %v", err)
	}
	if err := Build(b, src, dst, nil); err == nil {
		t.Fatal("Build into a non-empty buffer succeeded")
	}
}
