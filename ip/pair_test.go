package ip

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

// wireEnd is one host's Output on a point-to-point cable: frames sent are
// queued for the peer, buffer and all (as link/mem does).
type wireEnd struct {
	pool  *link.Pool
	queue []*link.Buf
	log   []string
	name  string
	large int // frames sent in buffers larger than pool's
}

func (w *wireEnd) Send(b *link.Buf) {
	if b.Pool().BufSize() > w.pool.BufSize() {
		w.large++
	}
	w.queue = append(w.queue, b)
	w.log = append(w.log, describe(b.Bytes()))
}
func (w *wireEnd) Pool() *link.Pool { return w.pool }

func describe(f []byte) string {
	e, err := wire.ParseEthernet(f)
	if err != nil {
		return "?"
	}
	switch e.EtherType() {
	case wire.EtherTypeARP:
		a, _ := wire.ParseARP(e.Payload())
		if a.Op() == wire.ARPRequest {
			return "arp who-has " + a.TargetIP().String() + " tell " + a.SenderIP().String()
		}
		return "arp reply " + a.SenderIP().String() + " is-at " + a.SenderMAC().String()
	case wire.EtherTypeIPv4:
		ip, _ := wire.ParseIPv4(e.Payload())
		if ip.Protocol() == 1 {
			m, _ := wire.ParseICMPv4(ip.Payload())
			switch m.Type() {
			case 8:
				return "icmp echo request " + ip.Src().String() + " > " + ip.Dst().String()
			case 0:
				return "icmp echo reply " + ip.Src().String() + " > " + ip.Dst().String()
			}
		}
		return "ip " + ip.Src().String() + " > " + ip.Dst().String()
	}
	return "other"
}

type pair struct {
	a, b       *Host
	outA, outB *wireEnd
	now        time.Duration
}

func newPair(t *testing.T) *pair {
	p := &pair{
		a:    hostA(t, nil),
		b:    hostB(t),
		outA: &wireEnd{pool: link.MustPool(link.PoolConfig{Count: 64}), name: "A"},
		outB: &wireEnd{pool: link.MustPool(link.PoolConfig{Count: 64}), name: "B"},
	}
	return p
}

// run moves frames across the cable (1 ms each way) and fires timers
// until until, on virtual time.
func (p *pair) run(until time.Duration) {
	const delay = time.Millisecond
	for p.now <= until {
		moved := false
		if len(p.outA.queue) > 0 {
			q := p.outA.queue
			p.outA.queue = nil
			p.now += delay
			for _, b := range q {
				p.b.Input(p.now, b, p.outB)
			}
			moved = true
		}
		if len(p.outB.queue) > 0 {
			q := p.outB.queue
			p.outB.queue = nil
			p.now += delay
			for _, b := range q {
				p.a.Input(p.now, b, p.outA)
			}
			moved = true
		}
		if moved {
			continue
		}
		next := until + 1
		if d, ok := p.a.NextDeadline(); ok {
			next = min(next, d)
		}
		if d, ok := p.b.NextDeadline(); ok {
			next = min(next, d)
		}
		p.now = max(p.now, next)
		if p.now > until {
			return
		}
		p.a.Tick(p.now, p.outA)
		p.b.Tick(p.now, p.outB)
	}
}

func TestTwoHostsPing(t *testing.T) {
	p := newPair(t)
	var r replies
	p.a.SetEchoReplyHandler(&r)
	if err := p.a.Ping(0, addrB, 0x77, 1, []byte("hello"), p.outA); err != nil {
		t.Fatal(err)
	}
	p.run(100 * time.Millisecond)
	wantA := []string{
		"arp who-has 10.0.0.3 tell 10.0.0.2",
		"icmp echo request 10.0.0.2 > 10.0.0.3",
	}
	wantB := []string{
		"arp reply 10.0.0.3 is-at 02:00:00:00:00:bb",
		"icmp echo reply 10.0.0.3 > 10.0.0.2",
	}
	if !equal(p.outA.log, wantA) || !equal(p.outB.log, wantB) {
		t.Fatalf("A sent %q\nB sent %q", p.outA.log, p.outB.log)
	}
	if len(r.seq) != 1 || r.from[0] != addrB || r.id[0] != 0x77 || string(r.data[0]) != "hello" || r.received[0] != 4*time.Millisecond {
		t.Fatalf("replies %+v", r)
	}
	// B learnt A from the request (STALE), used it for the reply (DELAY)
	// and, with no confirmation, probes A 5s later; A answers.
	if s := p.b.NeighState(addrA); s != NeighDelay {
		t.Fatalf("B's entry for A is %v", s)
	}
	p.run(10 * time.Second)
	if got := p.outB.log[2:]; !equal(got, []string{"arp who-has 10.0.0.2 tell 10.0.0.3"}) {
		t.Fatalf("B then sent %q", got)
	}
	if s := p.b.NeighState(addrA); s != NeighReachable {
		t.Fatalf("B's entry for A is %v after the probe", s)
	}
	// Ping back the other way: no ARP needed.
	p.outA.log, p.outB.log = nil, nil
	var rb replies
	p.b.SetEchoReplyHandler(&rb)
	p.b.Ping(p.now, addrA, 1, 1, nil, p.outB)
	p.run(p.now + time.Second)
	if len(rb.seq) != 1 || !equal(p.outB.log, []string{"icmp echo request 10.0.0.3 > 10.0.0.2"}) {
		t.Fatalf("B ping: %q %+v", p.outB.log, rb)
	}
	checkPool(t, p.outA.pool, 0)
	checkPool(t, p.outB.pool, 0)
}

func TestPingUnresolvableHost(t *testing.T) {
	p := newPair(t)
	var fr failRec
	p.a.SetNeighFailureHandler(&fr)
	ghost := netip.MustParseAddr("10.0.0.99")
	p.a.Ping(0, ghost, 1, 1, nil, p.outA)
	p.run(10 * time.Second)
	if len(fr.addrs) != 1 || fr.addrs[0] != ghost || p.a.NeighState(ghost) != NeighFailed {
		t.Fatalf("failures %v state %v", fr.addrs, p.a.NeighState(ghost))
	}
	n := 0
	for _, l := range p.outA.log {
		if l == "arp who-has 10.0.0.99 tell 10.0.0.2" {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d requests: %q", n, p.outA.log)
	}
	checkPool(t, p.outA.pool, 0)
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
