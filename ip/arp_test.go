package ip

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack/wire"
)

func TestARPRequestForUsIsAnswered(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	req := eth(wire.BroadcastMAC(), macB, wire.EtherTypeARP, arpPkt(wire.ARPRequest, macB, addrB, wire.MAC{}, addrA))
	req = append(req, make([]byte, 18)...) // Ethernet padding to 60 bytes
	h.Input(0, bufOf(t, c.pool, req), c)
	f := c.take()
	if len(f) != 1 {
		t.Fatalf("%d frames, want one reply", len(f))
	}
	want := eth(macB, macA, wire.EtherTypeARP, arpPkt(wire.ARPReply, macA, addrA, macB, addrB))
	if string(f[0]) != string(want) {
		t.Fatalf("reply\n got %x\nwant %x", f[0], want)
	}
	// The sender was learnt as STALE (Linux's neigh_event_ns).
	if s := h.NeighState(addrB); s != NeighStale {
		t.Fatalf("B is %v, want STALE", s)
	}
	if m, ok := h.NeighMAC(addrB); !ok || m != macB {
		t.Fatalf("NeighMAC(B) = %x %v", m, ok)
	}
	cn := h.Counters()
	if cn.ArpIn != 1 || cn.ArpInRequests != 1 || cn.ArpOut != 1 || cn.ArpOutReplies != 1 {
		t.Fatalf("counters %+v", cn)
	}
	checkPool(t, c.pool, 0)
}

func TestARPRequestNotForUsIsIgnored(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	other := netip.MustParseAddr("10.0.0.9")
	h.Input(0, bufOf(t, c.pool, eth(wire.BroadcastMAC(), macB, wire.EtherTypeARP,
		arpPkt(wire.ARPRequest, macB, addrB, wire.MAC{}, other))), c)
	if len(c.take()) != 0 || h.NeighState(addrB) != NeighNone {
		t.Fatal("answered or learnt from a request for someone else")
	}
	// Someone claiming our address is a conflict, not learnt or answered.
	h.Input(0, bufOf(t, c.pool, eth(wire.BroadcastMAC(), macB, wire.EtherTypeARP,
		arpPkt(wire.ARPRequest, macB, addrA, wire.MAC{}, addrA))), c)
	if len(c.take()) != 0 || h.Counters().ArpInConflicts != 1 {
		t.Fatalf("conflict not counted: %+v", h.Counters())
	}
	// Malformed: protocol address length 16.
	bad := arpPkt(wire.ARPRequest, macB, addrB, wire.MAC{}, addrA)
	bad[5] = 16
	h.Input(0, bufOf(t, c.pool, eth(wire.BroadcastMAC(), macB, wire.EtherTypeARP, bad)), c)
	if h.Counters().ArpInBad != 1 {
		t.Fatal("bad ARP not counted")
	}
	checkPool(t, c.pool, 0)
}

// An ARP probe (RFC 5227, sender 0.0.0.0) for our address is answered so
// the prober sees the conflict, and nothing is learnt.
func TestARPProbeAnswered(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	h.Input(0, bufOf(t, c.pool, eth(wire.BroadcastMAC(), macB, wire.EtherTypeARP,
		arpPkt(wire.ARPRequest, macB, netip.IPv4Unspecified(), wire.MAC{}, addrA))), c)
	f := c.take()
	if len(f) != 1 {
		t.Fatal("probe not answered")
	}
	e, a := arpOf(t, f[0])
	if e.Dst() != macB || a.TargetIP() != netip.IPv4Unspecified() || a.SenderIP() != addrA {
		t.Fatalf("probe reply %x", f[0])
	}
	if h.NeighState(netip.IPv4Unspecified()) != NeighNone || h.neigh.count != 0 {
		t.Fatal("learnt from a probe")
	}
}

// Resolution: Output queues while INCOMPLETE, the reply flushes in order.
func TestARPResolutionFlushesQueue(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	for i := range 3 {
		b := bufOf(t, c.pool, []byte{byte(i), 1, 2, 3, 4, 5, 6, 7})
		if err := h.Output(0, addrB, 17, b, c); err != nil {
			t.Fatal(err)
		}
	}
	f := c.take()
	if len(f) != 1 {
		t.Fatalf("%d frames while resolving, want 1 ARP request", len(f))
	}
	e, a := arpOf(t, f[0])
	want := eth(wire.BroadcastMAC(), macA, wire.EtherTypeARP, arpPkt(wire.ARPRequest, macA, addrA, wire.MAC{}, addrB))
	if string(f[0]) != string(want) {
		t.Fatalf("request\n got %x\nwant %x (%v %v)", f[0], want, e, a)
	}
	if h.NeighState(addrB) != NeighIncomplete {
		t.Fatal("not INCOMPLETE")
	}
	h.Input(10*time.Millisecond, bufOf(t, c.pool, eth(macA, macB, wire.EtherTypeARP,
		arpPkt(wire.ARPReply, macB, addrB, macA, addrA))), c)
	f = c.take()
	if len(f) != 3 {
		t.Fatalf("%d frames flushed, want 3", len(f))
	}
	for i, fr := range f {
		e, ip := parseSent(t, fr)
		if e.Dst() != macB || e.Src() != macA || ip.Dst() != addrB || ip.Src() != addrA || ip.Payload()[0] != byte(i) {
			t.Fatalf("flushed frame %d: %x", i, fr)
		}
		if !ip.DontFragment() { // DFWant: DF on what fits, as Linux
			t.Fatalf("datagram %d without DF", i)
		}
	}
	if h.NeighState(addrB) != NeighReachable || h.Counters().NeighResolved != 1 {
		t.Fatalf("state %v counters %+v", h.NeighState(addrB), h.Counters())
	}
	// Reachable: sent at once.
	h.Output(20*time.Millisecond, addrB, 17, bufOf(t, c.pool, make([]byte, 8)), c)
	if len(c.take()) != 1 {
		t.Fatal("not sent at once to a REACHABLE neighbour")
	}
	checkPool(t, c.pool, 0)
}

func TestARPPendingQueueBound(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, func(c *Config) { c.Neigh.PendingLimit = 4; c.Neigh.PendingTotal = 6 })
	for i := range 10 {
		h.Output(0, addrB, 17, bufOf(t, c.pool, []byte{byte(i), 0, 0, 0, 0, 0, 0, 0}), c)
	}
	checkPool(t, c.pool, 4)
	if cn := h.Counters(); cn.NeighQueueDrops != 6 || cn.NeighQueued != 10 {
		t.Fatalf("drops %d queued %d", cn.NeighQueueDrops, cn.NeighQueued)
	}
	// The total bound: a second neighbour may only add 2 more.
	other := netip.MustParseAddr("10.0.0.9")
	for i := range 5 {
		h.Output(0, other, 17, bufOf(t, c.pool, []byte{byte(i), 0, 0, 0, 0, 0, 0, 0}), c)
	}
	checkPool(t, c.pool, 6)
	c.take()
	h.Input(0, bufOf(t, c.pool, eth(macA, macB, wire.EtherTypeARP, arpPkt(wire.ARPReply, macB, addrB, macA, addrA))), c)
	f := c.take()
	if len(f) != 4 {
		t.Fatalf("%d flushed, want 4", len(f))
	}
	for i, fr := range f { // the oldest were dropped: 6..9 remain
		if _, ip := parseSent(t, fr); ip.Payload()[0] != byte(6+i) {
			t.Fatalf("frame %d carries %d, want %d", i, ip.Payload()[0], 6+i)
		}
	}
	checkPool(t, c.pool, 2)
}

type failRec struct {
	addrs []netip.Addr
	at    []time.Duration
}

func (f *failRec) NeighFailed(now time.Duration, a netip.Addr) {
	f.addrs = append(f.addrs, a)
	f.at = append(f.at, now)
}

// Retransmits each RetransTime, MaxProbes requests in all, then FAILED:
// the queue is dropped, transports get a local host unreachable and the
// failure handler is called. Virtual time only.
func TestARPRetransmitThenFail(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	var fr failRec
	h.SetNeighFailureHandler(&fr)
	udp := &sink{}
	h.Register(17, udp)
	h.Output(0, addrB, 17, bufOf(t, c.pool, []byte{0x30, 0x39, 0, 53, 0, 8, 0, 0}), c)
	var reqAt []time.Duration
	now := time.Duration(0)
	if len(c.take()) == 1 {
		reqAt = append(reqAt, now)
	}
	for range 10 {
		d, ok := h.NextDeadline()
		if !ok || h.NeighState(addrB) == NeighFailed {
			break
		}
		now = d
		h.Tick(now, c)
		for _, f := range c.take() {
			if arpTarget(t, f) != addrB {
				t.Fatalf("unexpected frame %x", f)
			}
			reqAt = append(reqAt, now)
		}
	}
	want := []time.Duration{0, time.Second, 2 * time.Second}
	if len(reqAt) != 3 || reqAt[1] != want[1] || reqAt[2] != want[2] {
		t.Fatalf("requests at %v, want %v", reqAt, want)
	}
	if h.NeighState(addrB) != NeighFailed || len(fr.addrs) != 1 || fr.addrs[0] != addrB || fr.at[0] != 3*time.Second {
		t.Fatalf("state %v, failures %v at %v", h.NeighState(addrB), fr.addrs, fr.at)
	}
	if len(udp.errs) != 1 || udp.errs[0].Type != 3 || udp.errs[0].Code != 1 || udp.errs[0].Dst != addrB ||
		be16(udp.errL4[0][2:]) != 53 {
		t.Fatalf("local unreachable: %+v", udp.errs)
	}
	if cn := h.Counters(); cn.NeighFailed != 1 || cn.NeighQueueDrops != 1 || cn.ArpOutRequests != 3 {
		t.Fatalf("counters %+v", cn)
	}
	checkPool(t, c.pool, 0)
	// A new packet restarts resolution.
	h.Output(4*time.Second, addrB, 17, bufOf(t, c.pool, make([]byte, 8)), c)
	if h.NeighState(addrB) != NeighIncomplete || len(c.take()) != 1 {
		t.Fatal("FAILED entry did not restart resolution")
	}
	// Garbage collection eventually removes a failed, unused entry.
	for now = 4 * time.Second; now < 5*time.Minute; now += time.Second {
		h.Tick(now, c)
	}
	c.take()
	if h.NeighState(addrB) != NeighNone || h.Counters().NeighGC != 1 {
		t.Fatalf("after GC: %v, NeighGC %d", h.NeighState(addrB), h.Counters().NeighGC)
	}
	if _, ok := h.NextDeadline(); ok {
		t.Fatal("deadline armed with an empty cache")
	}
	checkPool(t, c.pool, 0)
}

// REACHABLE ages to STALE; use starts DELAY; after DelayFirstProbe unicast
// probes; an answer makes it REACHABLE; no answer makes it FAILED.
func TestNeighStaleDelayProbe(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	learnB(t, h, 0, c)
	c.take()
	now := 31 * time.Second
	h.Output(now, addrB, 17, bufOf(t, c.pool, make([]byte, 8)), c)
	if len(c.take()) != 1 || h.NeighState(addrB) != NeighDelay {
		t.Fatalf("state %v, want DELAY and the packet sent", h.NeighState(addrB))
	}
	start := now
	var f [][]byte
	for h.NeighState(addrB) == NeighDelay {
		d, _ := h.NextDeadline()
		now = max(now, d) // a deadline missed while no one ticked runs now
		h.Tick(now, c)
		f = c.take()
	}
	if now != start+5*time.Second || len(f) != 1 || h.NeighState(addrB) != NeighProbe {
		t.Fatalf("at %v: %d frames, state %v", now, len(f), h.NeighState(addrB))
	}
	e, a := arpOf(t, f[0])
	if e.Dst() != macB || a.TargetIP() != addrB || a.Op() != wire.ARPRequest {
		t.Fatalf("probe is not a unicast request to B: %x", f[0])
	}
	// Answer: REACHABLE again.
	h.Input(now, bufOf(t, c.pool, eth(macA, macB, wire.EtherTypeARP, arpPkt(wire.ARPReply, macB, addrB, macA, addrA))), c)
	if h.NeighState(addrB) != NeighReachable {
		t.Fatalf("state %v after probe reply", h.NeighState(addrB))
	}
	// Upper-layer confirmation keeps it REACHABLE without probes.
	now += 29 * time.Second
	h.ConfirmNeigh(now, addrB)
	now += 29 * time.Second
	h.Output(now, addrB, 17, bufOf(t, c.pool, make([]byte, 8)), c)
	if h.NeighState(addrB) != NeighReachable {
		t.Fatalf("confirmed entry is %v", h.NeighState(addrB))
	}
	// Silence: DELAY, 3 probes, FAILED.
	now += 31 * time.Second
	h.Output(now, addrB, 17, bufOf(t, c.pool, make([]byte, 8)), c)
	c.take()
	probes := 0
	for range 20 {
		d, ok := h.NextDeadline()
		if !ok || h.NeighState(addrB) == NeighFailed {
			break
		}
		h.Tick(d, c)
		for _, f := range c.take() {
			if e, _ := arpOf(t, f); e.Dst() == macB {
				probes++
			}
		}
	}
	if probes != 3 || h.NeighState(addrB) != NeighFailed {
		t.Fatalf("%d probes, state %v", probes, h.NeighState(addrB))
	}
	checkPool(t, c.pool, 0)
}

// Gratuitous ARP updates an existing entry (to STALE with the new MAC),
// and creates none.
func TestGratuitousARP(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	newMAC := wire.MAC{0x02, 0, 0, 0, 0, 0xcc}
	garp := eth(wire.BroadcastMAC(), newMAC, wire.EtherTypeARP, arpPkt(wire.ARPRequest, newMAC, addrB, wire.MAC{}, addrB))
	h.Input(0, bufOf(t, c.pool, garp), c)
	if h.NeighState(addrB) != NeighNone {
		t.Fatal("gratuitous ARP created an entry")
	}
	learnB(t, h, 0, c)
	h.Input(time.Second, bufOf(t, c.pool, garp), c)
	if m, _ := h.NeighMAC(addrB); m != newMAC || h.NeighState(addrB) != NeighStale {
		t.Fatalf("after gratuitous ARP: %x %v", m, h.NeighState(addrB))
	}
	if len(c.take()) != 0 {
		t.Fatal("gratuitous ARP answered")
	}
	// A gratuitous reply resolves an INCOMPLETE entry and flushes it.
	other := netip.MustParseAddr("10.0.0.9")
	h.Output(2*time.Second, other, 17, bufOf(t, c.pool, make([]byte, 8)), c)
	c.take()
	h.Input(2*time.Second, bufOf(t, c.pool, eth(wire.BroadcastMAC(), newMAC, wire.EtherTypeARP,
		arpPkt(wire.ARPReply, newMAC, other, wire.BroadcastMAC(), other))), c)
	f := c.take()
	if len(f) != 1 || h.NeighState(other) != NeighStale {
		t.Fatalf("%d frames, state %v", len(f), h.NeighState(other))
	}
	if e, _ := parseSent(t, f[0]); e.Dst() != newMAC {
		t.Fatalf("flushed to %v", e.Dst())
	}
	checkPool(t, c.pool, 0)
}

// The cache evicts the least recently used settled entry when full, and
// refuses new resolutions when every entry is resolving.
func TestNeighEviction(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, func(c *Config) { c.Neigh.CacheSize = 2 })
	n1, n2, n3 := netip.MustParseAddr("10.0.0.11"), netip.MustParseAddr("10.0.0.12"), netip.MustParseAddr("10.0.0.13")
	reply := func(now time.Duration, mac wire.MAC, a netip.Addr) {
		h.Input(now, bufOf(t, c.pool, eth(macA, mac, wire.EtherTypeARP, arpPkt(wire.ARPReply, mac, a, macA, addrA))), c)
	}
	h.Output(0, n1, 17, bufOf(t, c.pool, make([]byte, 8)), c)
	h.Output(0, n2, 17, bufOf(t, c.pool, make([]byte, 8)), c)
	h.Output(0, n3, 17, bufOf(t, c.pool, make([]byte, 8)), c)
	if h.Counters().NeighTableFull != 1 || h.NeighState(n3) != NeighNone {
		t.Fatal("third resolution not refused with a full, resolving table")
	}
	reply(time.Second, wire.MAC{2, 0, 0, 0, 0, 11}, n1)
	reply(time.Second, wire.MAC{2, 0, 0, 0, 0, 12}, n2)
	h.Output(2*time.Second, n2, 17, bufOf(t, c.pool, make([]byte, 8)), c) // n1 is now LRU
	h.Output(3*time.Second, n3, 17, bufOf(t, c.pool, make([]byte, 8)), c)
	if h.NeighState(n1) != NeighNone || h.NeighState(n2) != NeighReachable || h.NeighState(n3) != NeighIncomplete {
		t.Fatalf("states %v %v %v", h.NeighState(n1), h.NeighState(n2), h.NeighState(n3))
	}
	if h.Counters().NeighEvicted != 1 {
		t.Fatal("eviction not counted")
	}
}

// retrier re-sends to fresh neighbours from inside the failure callback,
// changing the table while Tick is scanning it.
type retrier struct {
	h    *Host
	out  *collector
	next int
}

func (r *retrier) NeighFailed(now time.Duration, a netip.Addr) {
	for range 3 {
		if r.next >= 40 {
			return
		}
		r.next++
		dst := netip.AddrFrom4([4]byte{10, 0, 0, byte(100 + r.next)})
		b := r.out.pool.Get()
		b.Extend(8)
		r.h.Output(now, dst, 17, b, r.out)
	}
}

// Every entry with a timer keeps NextDeadline at or before it, even when
// callbacks change the table during Tick; in the end all fail and every
// queued buffer is freed.
func TestNeighTimersSurviveCallbacks(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, func(c *Config) { c.Neigh.CacheSize = 8 })
	r := &retrier{h: h, out: c}
	h.SetNeighFailureHandler(r)
	for i := range 5 {
		h.Output(0, netip.AddrFrom4([4]byte{10, 0, 0, byte(50 + i)}), 17, bufOf(t, c.pool, make([]byte, 8)), c)
	}
	now := time.Duration(0)
	for step := 0; step < 1000; step++ {
		d, ok := h.NextDeadline()
		for i := range h.neigh.slots {
			e := &h.neigh.slots[i]
			if e.inUse && (e.state == NeighIncomplete || e.state == NeighDelay || e.state == NeighProbe) && (!ok || d > e.timer) {
				t.Fatalf("step %d: entry %v (%v) due %v but deadline %v %v", step, addrOf(e.addr), e.state, e.timer, d, ok)
			}
		}
		if !ok {
			break
		}
		now = max(now, d)
		h.Tick(now, c)
		c.take()
	}
	if r.next != 40 {
		t.Fatalf("%d retries", r.next)
	}
	if h.pendTotal != 0 {
		t.Fatalf("%d packets still queued", h.pendTotal)
	}
	checkPool(t, c.pool, 0)
}

func TestNeighbours(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	learnB(t, h, time.Second, c)
	h.Output(2*time.Second, addrGW, 17, bufOf(t, c.pool, make([]byte, 8)), c)
	got := h.Neighbours(nil)
	if len(got) != 2 {
		t.Fatalf("%d entries", len(got))
	}
	for _, n := range got {
		switch n.Addr {
		case addrB:
			if n.State != NeighReachable || n.MAC != [6]byte(macB) || n.Confirmed != time.Second {
				t.Fatalf("B: %+v", n)
			}
		case addrGW:
			if n.State != NeighIncomplete || n.Queued != 1 || n.Probes != 1 || n.Used != 2*time.Second {
				t.Fatalf("gateway: %+v", n)
			}
		default:
			t.Fatalf("unexpected %+v", n)
		}
	}
	buf := make([]NeighInfo, 0, 8)
	if a := testing.AllocsPerRun(10, func() { buf = h.Neighbours(buf[:0]) }); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}

// An entry that is learnt and never used again ages to STALE and is
// collected.
func TestNeighAgesOut(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	learnB(t, h, 0, c)
	now := time.Duration(0)
	for h.NeighState(addrB) != NeighNone && now < 10*time.Minute {
		d, ok := h.NextDeadline()
		if !ok {
			t.Fatal("no deadline with a non-empty cache")
		}
		now = max(now, d)
		h.Tick(now, c)
		if s := h.NeighState(addrB); now >= 30*time.Second && s == NeighReachable {
			t.Fatalf("still REACHABLE at %v", now)
		}
	}
	if now > 2*time.Minute || h.Counters().NeighGC != 1 {
		t.Fatalf("collected at %v, NeighGC %d", now, h.Counters().NeighGC)
	}
	if _, ok := h.NextDeadline(); ok {
		t.Fatal("deadline armed with an empty cache")
	}
}

func TestPermanentNeighbour(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	h.Output(0, addrB, 17, bufOf(t, c.pool, make([]byte, 8)), c) // queued behind ARP
	c.take()
	if err := h.SetNeigh(0, addrB, macB, c); err != nil {
		t.Fatal(err)
	}
	if f := c.take(); len(f) != 1 || h.NeighState(addrB) != NeighPermanent {
		t.Fatalf("%d frames flushed, state %v", len(f), h.NeighState(addrB))
	}
	// ARP does not override it, time does not age it.
	other := wire.MAC{2, 0, 0, 0, 0, 0x77}
	h.Input(time.Second, bufOf(t, c.pool, eth(wire.BroadcastMAC(), other, wire.EtherTypeARP,
		arpPkt(wire.ARPRequest, other, addrB, wire.MAC{}, addrB))), c)
	for now := time.Second; now < 10*time.Minute; now += 10 * time.Second {
		h.Tick(now, c)
		h.Output(now, addrB, 17, bufOf(t, c.pool, make([]byte, 8)), c)
	}
	for _, f := range c.take() {
		if e, _ := wire.ParseEthernet(f); e.EtherType() != wire.EtherTypeIPv4 || e.Dst() != macB {
			t.Fatalf("unexpected frame %x", f)
		}
	}
	if h.NeighState(addrB) != NeighPermanent {
		t.Fatalf("state %v", h.NeighState(addrB))
	}
	for _, bad := range []struct {
		a   netip.Addr
		mac wire.MAC
	}{{remote, macB}, {addrA, macB}, {addrB, wire.MAC{}}, {addrB, wire.BroadcastMAC()}} {
		if err := h.SetNeigh(0, bad.a, bad.mac, c); !errors.Is(err, ErrBadAddress) {
			t.Fatalf("SetNeigh(%v, %v): %v", bad.a, bad.mac, err)
		}
	}
	h.DeleteNeigh(addrB)
	if h.NeighState(addrB) != NeighNone {
		t.Fatal("not deleted")
	}
	checkPool(t, c.pool, 0)
}

func TestAnnounce(t *testing.T) {
	c := newCollector(t)
	h := hostA(t, nil)
	h.Announce(c)
	f := c.take()
	want := eth(wire.BroadcastMAC(), macA, wire.EtherTypeARP, arpPkt(wire.ARPRequest, macA, addrA, wire.MAC{}, addrA))
	if len(f) != 1 || string(f[0]) != string(want) {
		t.Fatalf("announcement %x", f)
	}
	// B, which has A cached, follows the announcement of a new MAC.
	b := hostB(t)
	b.SetNeigh(0, addrA, [6]byte{2, 0, 0, 0, 0, 0x99}, c)
	b.DeleteNeigh(addrA)
	b.Output(0, addrA, 17, bufOf(t, c.pool, make([]byte, 8)), c)
	c.take()
	b.Input(0, bufOf(t, c.pool, f[0]), c)
	if m, ok := b.NeighMAC(addrA); !ok || m != [6]byte(macA) {
		t.Fatalf("B has %x for A", m)
	}
	checkPool(t, c.pool, 0)
}
