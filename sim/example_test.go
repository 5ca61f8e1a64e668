package sim_test

import (
	"fmt"
	"math"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/impair"
	"github.com/ustack/ustack/sim"
)

// pinger sends a 1000-byte frame every 10ms and prints each echo's RTT.
type pinger struct {
	p    *sim.Port
	next time.Duration
	sent []time.Duration
	bufs [4]*link.Buf
}

func (h *pinger) Step(now time.Duration) time.Duration {
	for n := h.p.Recv(h.bufs[:]); n > 0; n = h.p.Recv(h.bufs[:]) {
		for _, b := range h.bufs[:n] {
			seq := b.Bytes()[14]
			fmt.Printf("echo %d: rtt %v\n", seq, now-h.sent[seq])
			b.Free()
		}
	}
	if len(h.sent) < 3 && now >= h.next {
		b := h.p.Pool().Get()
		b.SetLen(1000)
		b.Bytes()[14] = byte(len(h.sent))
		h.sent = append(h.sent, now)
		h.p.Send([]*link.Buf{b})
		h.next = now + 10*time.Millisecond
	}
	if len(h.sent) < 3 {
		return h.next
	}
	return math.MaxInt64
}

// echoer sends every frame it receives straight back.
type echoer struct {
	p    *sim.Port
	bufs [4]*link.Buf
}

func (h *echoer) Step(now time.Duration) time.Duration {
	for n := h.p.Recv(h.bufs[:]); n > 0; n = h.p.Recv(h.bufs[:]) {
		for _, b := range h.bufs[:n] {
			c := h.p.Pool().Get() // reply from our own pool
			c.SetLen(b.Len())
			copy(c.Bytes(), b.Bytes())
			b.Free()
			h.p.Send([]*link.Buf{c})
		}
	}
	return math.MaxInt64
}

func Example() {
	w := sim.New(1)
	// 5ms each way at 8 Mbit/s: a 1000-byte frame takes 1ms to serialize,
	// so the round trip is 2 × (1ms + 5ms).
	cfg, _ := impair.ParseSpec("delay=5ms,rate=8mbit")
	a, b := w.Link(cfg, cfg)
	w.AddHost(&pinger{p: a}, a)
	w.AddHost(&echoer{p: b}, b)
	w.RunFor(time.Second)
	fmt.Println("now", w.Now(), "in use", a.Pool().InUse()+b.Pool().InUse())
	// Output:
	// echo 0: rtt 12ms
	// echo 1: rtt 12ms
	// echo 2: rtt 12ms
	// now 1s in use 0
}
