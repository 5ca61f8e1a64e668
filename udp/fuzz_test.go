package udp

import (
	"net/netip"
	"testing"

	"github.com/ustack/ustack/ip"
	"github.com/ustack/ustack/wire"
)

// FuzzDeliver feeds arbitrary bytes as a UDP datagram to a table with one
// bound port: no panic, no leak, and every datagram is accounted for in
// exactly one counter.
func FuzzDeliver(f *testing.F) {
	good := make([]byte, 8+5)
	wire.PutUDPHeader(good, 1234, 7, 5)
	copy(good[8:], "hello")
	wire.UDP(good).SetChecksum4(peer.As4(), self.As4())
	f.Add(good, false)
	f.Add(good[:7], false)
	f.Add([]byte{0, 1, 0, 8, 0, 8, 0, 0}, false)   // unbound port 8, no checksum
	f.Add([]byte{0, 1, 0, 7, 0, 9, 0, 0, 1}, true) // broadcast
	f.Add([]byte{0, 1, 0, 7, 0xff, 0xff, 1, 2}, false)
	f.Fuzz(func(t *testing.T, data []byte, bcast bool) {
		tb, _ := New(Config{RecvBuffer: 4096}, quietNet{})
		c := &consumer{}
		e := NewEndpoint(c)
		c.ep = e
		if err := tb.Bind(e, netip.Addr{}, 7); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			b := testPool.Get()
			p := b.Extend(min(len(data), b.Tailroom()))
			copy(p, data)
			b.Prepend(wire.IPv4MinHeaderLen)
			b.TrimFront(wire.IPv4MinHeaderLen)
			pkt := &ip.Packet{Src: peer, Dst: self, Proto: wire.ProtoUDP, HeaderLen: wire.IPv4MinHeaderLen, Broadcast: bcast}
			tb.Deliver(0, pkt, b, nopOut{})
		}
		tb.Flush()
		k := tb.Counters()
		if got := k.InDatagrams + k.NoPorts + k.IgnoredMulti + k.InErrors; got != 3 {
			t.Fatalf("3 datagrams, %d counted: %+v", got, k)
		}
		if k.RcvbufErrors+k.InCsumErrors > k.InErrors {
			t.Fatalf("detail counters exceed InErrors: %+v", k)
		}
		if testPool.InUse() != 0 || e.Charged() != 0 {
			t.Fatalf("%d buffers in use, %d charged", testPool.InUse(), e.Charged())
		}
	})
}
