package ustack_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link/impair"
	"github.com/ustack/ustack/sim"
	"github.com/ustack/ustack/wire"
)

// The ACK a received segment owes waits for the handlers of the burst, so
// it rides on what they send: the handshake's ACK on the request written
// in Established, the request's ACK on the response, the ACK of the
// server's FIN on the client's own. What a handler writes and closes
// leaves when it returns, so the response and the server's FIN share a
// segment. A 1-byte exchange with the server closing first is then 6
// segments, where answering each segment at once takes 11.
func TestEventACKRidesOnAnswer(t *testing.T) {
	var segs []string
	record := false
	w := sim.New(5, sim.WithTrace(func(ev sim.TraceEvent) {
		if !record || ev.Kind != sim.TraceSent || len(ev.Data) < 14+20 {
			return
		}
		ipb := ev.Data[14:]
		if ipb[9] != byte(wire.ProtoTCP) {
			return
		}
		th, err := wire.ParseTCP(ipb[int(ipb[0]&0xf)*4:])
		if err != nil {
			t.Error(err)
			return
		}
		who := "C"
		if ev.Port.Side() == 1 {
			who = "S"
		}
		segs = append(segs, fmt.Sprintf("%s:%v/%d", who, th.Flags(), len(th.Payload())))
	}))
	pa, pb := w.Link(impair.Config{}, impair.Config{})
	a, err := ustack.New(ustack.Config{Link: pa, Addr: netip.MustParsePrefix("10.0.0.1/24"), Clock: w.Clock(), Manual: true, Rand: rand.NewChaCha8(seedBytes(5, 1))})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ustack.New(ustack.Config{Link: pb, Addr: netip.MustParsePrefix("10.0.0.2/24"), Clock: w.Clock(), Manual: true, Rand: rand.NewChaCha8(seedBytes(5, 2))})
	if err != nil {
		t.Fatal(err)
	}
	w.AddHost(a, pa)
	w.AddHost(b, pb)
	t.Cleanup(func() { w.Close(); a.Close(); b.Close() })
	if _, err := b.ListenEvents(7, cpsEchoServer{}); err != nil {
		t.Fatal(err)
	}
	k := &cpsClient{}
	for i := range 2 { // the first also resolves ARP
		record = i == 1
		k.got, k.ended, k.err = false, false, nil
		if _, err := a.DialEvents(netip.MustParseAddrPort("10.0.0.2:7"), k); err != nil {
			t.Fatal(err)
		}
		if !w.RunUntil(func() bool { return k.ended }, time.Second) || k.err != nil {
			t.Fatalf("connection %d: ended %v, %v", i, k.ended, k.err)
		}
		w.RunFor(time.Millisecond)
	}
	got := strings.Join(segs, " ")
	want := "C:S/0 S:S./0 C:P./1 S:FP./1 C:F./0 S:./0"
	if got != want {
		t.Fatalf("segments:\n got %s\nwant %s", got, want)
	}
}
