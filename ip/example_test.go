package ip_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/ustack/ustack/ip"
	"github.com/ustack/ustack/link"
)

// cable is an Output that hands every frame to the other host.
type cable struct {
	pool *link.Pool
	sent []*link.Buf
}

func (c *cable) Send(b *link.Buf) { c.sent = append(c.sent, b) }
func (c *cable) Pool() *link.Pool { return c.pool }

type printer struct{}

func (printer) EchoReply(now time.Duration, from netip.Addr, id, seq uint16, data []byte) {
	fmt.Printf("%v: reply from %v id=%d seq=%d %q\n", now, from, id, seq, data)
}

// Two hosts on one Ethernet segment: A pings B. The first frame is A's
// ARP request; the echo request waits in A's neighbour queue until B's
// ARP reply arrives.
func Example() {
	a, _ := ip.New(ip.Config{Addr: netip.MustParsePrefix("10.0.0.1/24"), MAC: [6]byte{2, 0, 0, 0, 0, 1}})
	b, _ := ip.New(ip.Config{Addr: netip.MustParsePrefix("10.0.0.2/24"), MAC: [6]byte{2, 0, 0, 0, 0, 2}})
	toB := &cable{pool: link.MustPool(link.PoolConfig{Count: 16})}
	toA := &cable{pool: link.MustPool(link.PoolConfig{Count: 16})}
	a.SetEchoReplyHandler(printer{})

	now := time.Duration(0)
	if err := a.Ping(now, netip.MustParseAddr("10.0.0.2"), 1, 1, []byte("hi"), toB); err != nil {
		fmt.Println(err)
	}
	for len(toB.sent)+len(toA.sent) > 0 {
		now += time.Millisecond
		frames := toB.sent
		toB.sent = nil
		for _, f := range frames {
			b.Input(now, f, toA)
		}
		frames = toA.sent
		toA.sent = nil
		for _, f := range frames {
			a.Input(now, f, toB)
		}
	}
	fmt.Println("A's neighbour 10.0.0.2:", a.NeighState(netip.MustParseAddr("10.0.0.2")))
	fmt.Println("B's neighbour 10.0.0.1:", b.NeighState(netip.MustParseAddr("10.0.0.1")))
	// Output:
	// 2ms: reply from 10.0.0.2 id=1 seq=1 "hi"
	// A's neighbour 10.0.0.2: REACHABLE
	// B's neighbour 10.0.0.1: DELAY
}
