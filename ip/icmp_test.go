package ip

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

func TestEchoReplyBytes(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, func(c *Config) { c.IDSeed = 0x1234 })
	learnB(t, h, 0, c)
	data := []byte("abcdefghijklmnopqrstuvwxyz012345678") // odd length
	req := pingFrame(0xbeef, 7, data)
	req = append(req, 0, 0, 0, 0) // trailing link padding must not be echoed
	h.Input(time.Millisecond, bufOf(t, c.pool, req), c)
	f := c.take()
	if len(f) != 1 {
		t.Fatalf("%d frames, want 1", len(f))
	}
	want := eth(macB, macA, wire.EtherTypeIPv4, ipv4(ipOpts{id: 0x1234, proto: wire.ProtoICMP, src: addrA, dst: addrB},
		echo(wire.ICMPv4EchoReply, 0xbeef, 7, data)))
	if !bytes.Equal(f[0], want) {
		t.Fatalf("echo reply\n got %x\nwant %x", f[0], want)
	}
	_, ip := parseSent(t, f[0])
	if m, _ := wire.ParseICMPv4(ip.Payload()); !m.ChecksumValid() {
		t.Fatal("reply ICMP checksum invalid")
	}
	cn := h.Counters()
	if cn.InEchos != 1 || cn.OutEchoReps != 1 || cn.InMsgs != 1 || cn.OutMsgs != 1 || cn.InDelivers != 1 || cn.InReceives != 1 {
		t.Fatalf("counters %+v", cn)
	}
	checkPool(t, c.pool, 0)
}

// A request carrying IP options gets a reply without them; TOS is kept.
func TestEchoReplyStripsOptions(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	learnB(t, h, 0, c)
	body := echo(wire.ICMPv4Echo, 1, 2, []byte("hi"))
	p := make([]byte, 24+len(body))
	hdr := wire.IPv4Header{TOS: 0x10, TotalLen: uint16(len(p)), TTL: 9, Protocol: 1, Src: addrB, Dst: addrA}
	wire.PutIPv4(p, &hdr)
	p[0] = 0x46
	copy(p[20:24], []byte{1, 1, 1, 0}) // NOP NOP NOP EOL
	copy(p[24:], body)
	wire.IPv4(p).SetChecksum()
	h.Input(0, bufOf(t, c.pool, eth(macA, macB, wire.EtherTypeIPv4, p)), c)
	f := c.take()
	if len(f) != 1 {
		t.Fatal("no reply")
	}
	_, ip := parseSent(t, f[0])
	if ip.HeaderLen() != 20 || ip.TOS() != 0x10 || ip.TTL() != 64 || ip.Dst() != addrB {
		t.Fatalf("reply header %x", []byte(ip[:20]))
	}
	if !bytes.Equal(ip.Payload(), echo(wire.ICMPv4EchoReply, 1, 2, []byte("hi"))) {
		t.Fatalf("reply ICMP %x", ip.Payload())
	}
}

// The reply to an off-link source goes through the gateway.
func TestEchoReplyViaGateway(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	req := eth(macA, macGW, wire.EtherTypeIPv4, ipv4(ipOpts{proto: 1, src: remote, dst: addrA}, echo(8, 5, 6, nil)))
	h.Input(0, bufOf(t, c.pool, req), c)
	f := c.take()
	if len(f) != 1 || arpTarget(t, f[0]) != addrGW {
		t.Fatal("reply did not resolve the gateway")
	}
	h.Input(0, bufOf(t, c.pool, eth(macA, macGW, wire.EtherTypeARP, arpPkt(2, macGW, addrGW, macA, addrA))), c)
	f = c.take()
	if len(f) != 1 {
		t.Fatal("queued reply not flushed")
	}
	e, ip := parseSent(t, f[0])
	if e.Dst() != macGW || ip.Dst() != remote {
		t.Fatalf("reply to %v via %v", ip.Dst(), e.Dst())
	}
	checkPool(t, c.pool, 0)
}

func TestEchoIgnored(t *testing.T) {
	c := newCollector(t)
	// To the subnet broadcast: ignored by default.
	h := hostA(t, nil)
	bc := netip.MustParseAddr("10.0.0.255")
	req := eth(wire.BroadcastMAC(), macB, wire.EtherTypeIPv4, ipv4(ipOpts{proto: 1, src: addrB, dst: bc}, echo(8, 1, 1, nil)))
	h.Input(0, bufOf(t, c.pool, req), c)
	if len(c.take()) != 0 || h.Counters().InEchos != 1 {
		t.Fatal("answered a broadcast echo")
	}
	h2 := hostA(t, func(c *Config) { c.ICMP.EchoBroadcast = true })
	learnB(t, h2, 0, c)
	h2.Input(0, bufOf(t, c.pool, req), c)
	if f := c.take(); len(f) != 1 {
		t.Fatal("EchoBroadcast: not answered")
	} else if _, ip := parseSent(t, f[0]); ip.Src() != addrA {
		t.Fatalf("broadcast echo answered from %v", ip.Src())
	}
	h3 := hostA(t, func(c *Config) { c.ICMP.IgnoreEcho = true })
	h3.Input(0, bufOf(t, c.pool, pingFrame(1, 1, nil)), c)
	if len(c.take()) != 0 {
		t.Fatal("IgnoreEcho: answered")
	}
	// Bad ICMP checksum: counted, not answered.
	bad := pingFrame(1, 1, []byte("x"))
	bad[len(bad)-1] ^= 0xff
	h.Input(0, bufOf(t, c.pool, bad), c)
	if len(c.take()) != 0 || h.Counters().InIcmpCsumErrors != 1 || h.Counters().InErrors != 1 {
		t.Fatalf("bad ICMP checksum: %+v", h.Counters())
	}
	checkPool(t, c.pool, 0)
}

type replies struct {
	from     []netip.Addr
	id, seq  []uint16
	data     [][]byte
	received []time.Duration
}

func (r *replies) EchoReply(now time.Duration, from netip.Addr, id, seq uint16, data []byte) {
	r.from = append(r.from, from)
	r.id = append(r.id, id)
	r.seq = append(r.seq, seq)
	r.data = append(r.data, append([]byte(nil), data...))
	r.received = append(r.received, now)
}

func TestEchoReplyHandler(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	var r replies
	h.SetEchoReplyHandler(&r)
	h.Input(0, bufOf(t, c.pool, eth(macA, macB, wire.EtherTypeIPv4,
		ipv4(ipOpts{proto: 1, src: addrB, dst: addrA}, echo(0, 9, 10, []byte("pong"))))), c)
	if len(r.id) != 1 || r.from[0] != addrB || r.id[0] != 9 || r.seq[0] != 10 || string(r.data[0]) != "pong" {
		t.Fatalf("replies %+v", r)
	}
	if h.Counters().InEchoReps != 1 {
		t.Fatal("InEchoReps")
	}
	checkPool(t, c.pool, 0)
}

func TestPingBuildsEchoRequest(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	learnB(t, h, 0, c)
	if err := h.Ping(0, addrB, 3, 4, []byte("payload"), c); err != nil {
		t.Fatal(err)
	}
	f := c.take()
	_, ip := parseSent(t, f[0])
	if ip.Protocol() != 1 || !bytes.Equal(ip.Payload(), echo(8, 3, 4, []byte("payload"))) {
		t.Fatalf("ping %x", f[0])
	}
	if h.Counters().OutEchos != 1 {
		t.Fatal("OutEchos")
	}
}

// An unknown protocol is answered with protocol unreachable quoting the
// datagram, rate limited by a token bucket on virtual time.
func TestProtoUnreachableRateLimited(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, func(c *Config) { c.ICMP.ErrorRate = 10; c.ICMP.ErrorBurst = 2 })
	learnB(t, h, 0, c)
	dgram := ipv4(ipOpts{id: 5, proto: 99, src: addrB, dst: addrA}, []byte("12345678abcdefgh"))
	in := func(now time.Duration) int {
		h.Input(now, bufOf(t, c.pool, eth(macA, macB, wire.EtherTypeIPv4, dgram)), c)
		return len(c.take())
	}
	// Burst of 2, then nothing until 100ms have refilled one token.
	got := []int{in(0), in(0), in(0), in(50 * time.Millisecond), in(100 * time.Millisecond), in(100 * time.Millisecond)}
	want := []int{1, 1, 0, 0, 1, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("errors sent per datagram %v, want %v (%+v)", got, want, h.Counters())
		}
	}
	if cn := h.Counters(); cn.InUnknownProtos != 6 || cn.OutIcmpRateLimited != 3 || cn.OutDestUnreachs != 3 {
		t.Fatalf("counters %+v", cn)
	}
	h.Input(time.Second, bufOf(t, c.pool, eth(macA, macB, wire.EtherTypeIPv4, dgram)), c)
	f := c.take()
	_, ip := parseSent(t, f[0])
	m, _ := wire.ParseICMPv4(ip.Payload())
	if m.Type() != 3 || m.Code() != 2 || !m.ChecksumValid() || !bytes.Equal(m.Body(), dgram) || ip.TOS() != 0xc0 {
		t.Fatalf("protocol unreachable %x", f[0])
	}
	// Not for broadcasts, and not when disabled.
	bc := ipv4(ipOpts{proto: 99, src: addrB, dst: netip.MustParseAddr("255.255.255.255")}, []byte("x"))
	h.Input(2*time.Second, bufOf(t, c.pool, eth(wire.BroadcastMAC(), macB, wire.EtherTypeIPv4, bc)), c)
	if len(c.take()) != 0 {
		t.Fatal("protocol unreachable for a broadcast")
	}
	h2 := hostA(t, func(c *Config) { c.ICMP.NoProtoUnreachable = true })
	h2.Input(0, bufOf(t, c.pool, eth(macA, macB, wire.EtherTypeIPv4, dgram)), c)
	if len(c.take()) != 0 {
		t.Fatal("NoProtoUnreachable: sent")
	}
	checkPool(t, c.pool, 0)
}

// ICMP errors about our datagrams reach the transport that sent them.
func TestICMPErrorToTransport(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	udp := &sink{}
	h.Register(17, udp)
	orig := ipv4(ipOpts{proto: 17, src: addrA, dst: remote, df: true}, []byte{0x30, 0x39, 0, 53, 0, 8, 0, 0})
	msg := make([]byte, 8+len(orig))
	n, _ := wire.PutICMPv4Error(msg, 3, 4, 1400, orig)
	h.Input(0, bufOf(t, c.pool, eth(macA, macGW, wire.EtherTypeIPv4, ipv4(ipOpts{proto: 1, src: addrGW, dst: addrA}, msg[:n]))), c)
	if len(udp.errs) != 1 {
		t.Fatal("error not delivered")
	}
	e := udp.errs[0]
	if e.Type != 3 || e.Code != 4 || e.MTU != 1400 || e.From != addrGW || e.Dst != remote || e.Proto != 17 ||
		be16(udp.errL4[0]) != 0x3039 {
		t.Fatalf("error %+v", e)
	}
	if len(udp.pkts) != 0 || h.Counters().InDestUnreachs != 1 {
		t.Fatal("error delivered as data")
	}
	// No error is answered with an error.
	if len(c.take()) != 0 {
		t.Fatal("sent something in answer to an ICMP error")
	}
	checkPool(t, c.pool, 0)
}

// UDP's port unreachable through SendUnreachable.
type portUnreach struct{ h *Host }

func (p portUnreach) Deliver(now time.Duration, pk *Packet, b *link.Buf, out Output) {
	p.h.SendUnreachable(now, pk, b, 3, out)
}

func TestSendUnreachable(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	learnB(t, h, 0, c)
	h.Register(17, portUnreach{h})
	dgram := ipv4(ipOpts{proto: 17, src: addrB, dst: addrA}, []byte{0, 1, 0, 2, 0, 9, 0, 0, 'x'})
	h.Input(0, bufOf(t, c.pool, eth(macA, macB, wire.EtherTypeIPv4, dgram)), c)
	f := c.take()
	if len(f) != 1 {
		t.Fatal("no port unreachable")
	}
	_, ip := parseSent(t, f[0])
	m, _ := wire.ParseICMPv4(ip.Payload())
	if m.Type() != 3 || m.Code() != 3 || !bytes.Equal(m.Body(), dgram) {
		t.Fatalf("port unreachable %x", f[0])
	}
	checkPool(t, c.pool, 0)
}

// A large echo request arrives in fragments; the reply is bigger than the
// MTU and goes out fragmented, reassembling into the exact reply.
func TestEchoReplyFragmented(t *testing.T) {
	c := newCollector(t)
	a := hostA(t, func(c *Config) { c.MTU = 576 })
	learnB(t, a, 0, c)
	data := pattern(1000)
	req := ipv4(ipOpts{id: 3, proto: 1, src: addrB, dst: addrA}, echo(8, 0x42, 9, data))[20:]
	for off := 0; off < len(req); off += 552 {
		end := min(off+552, len(req))
		a.Input(0, bufOf(t, c.pool, eth(macA, macB, wire.EtherTypeIPv4,
			ipv4(ipOpts{id: 3, proto: 1, src: addrB, dst: addrA, off: off, mf: end < len(req)}, req[off:end]))), c)
	}
	frames := c.take()
	if len(frames) != 2 {
		t.Fatalf("%d reply frames, want 2", len(frames))
	}
	b := hostB(t)
	var r replies
	b.SetEchoReplyHandler(&r)
	for _, f := range frames {
		if _, ip := parseSent(t, f); len(ip) > 576 {
			t.Fatalf("%d-byte reply fragment", len(ip))
		}
		b.Input(0, bufOf(t, c.pool, f), c)
	}
	if len(r.id) != 1 || r.id[0] != 0x42 || r.seq[0] != 9 || !bytes.Equal(r.data[0], data) {
		t.Fatalf("reassembled reply %+v", r.id)
	}
	checkPool(t, c.pool, 0)
}

// Pinging our own address answers through the loopback queue.
func TestPingSelf(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	var r replies
	h.SetEchoReplyHandler(&r)
	if err := h.Ping(0, addrA, 1, 2, []byte("me"), c); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if d, ok := h.NextDeadline(); ok {
			h.Tick(d, c)
		}
	}
	if len(r.id) != 1 || r.from[0] != addrA || string(r.data[0]) != "me" || len(c.take()) != 0 {
		t.Fatalf("replies %+v", r)
	}
	checkPool(t, c.pool, 0)
}

// Linux's per-destination limit: bursts of PeerBurst, then one error per
// PeerInterval, independently per destination.
func TestICMPPerDestinationLimit(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, func(c *Config) { c.ICMP.ErrorRate = -1 })
	learnB(t, h, 0, c)
	c.take()
	other := netip.MustParseAddr("10.0.0.9")
	otherMAC := wire.MAC{2, 0, 0, 0, 0, 9}
	h.Output(0, other, 17, bufOf(t, c.pool, make([]byte, 8)), c)
	h.Input(0, bufOf(t, c.pool, eth(macA, otherMAC, wire.EtherTypeARP, arpPkt(2, otherMAC, other, macA, addrA))), c)
	c.take()
	send := func(now time.Duration, src netip.Addr, mac wire.MAC, n int) int {
		for range n {
			h.Input(now, bufOf(t, c.pool, eth(macA, mac, wire.EtherTypeIPv4, ipv4(ipOpts{proto: 99, src: src, dst: addrA}, []byte("x")))), c)
		}
		return len(c.take())
	}
	if got := send(0, addrB, macB, 10); got != 6 {
		t.Fatalf("burst: %d errors, want 6", got)
	}
	if got := send(0, other, otherMAC, 10); got != 6 {
		t.Fatalf("second destination: %d errors, want its own 6", got)
	}
	if got := send(500*time.Millisecond, addrB, macB, 3); got != 0 {
		t.Fatalf("half an interval later: %d errors", got)
	}
	if got := send(time.Second, addrB, macB, 3); got != 1 {
		t.Fatalf("one interval later: %d errors, want 1", got)
	}
	checkPool(t, c.pool, 0)
}
