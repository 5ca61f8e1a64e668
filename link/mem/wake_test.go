package mem_test

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/mem"
)

// hangLimit bounds how long a poller waits for a wake-up before the test
// declares it lost. It is a hang detector only; nothing is timed.
const hangLimit = 30 * time.Second

// waitFrames receives from l until it has n frames, sleeping on c via Arm
// whenever the ring is empty. It checks every frame's sequence number
// against next and frees it. It reports how often it slept.
func waitFrames(t *testing.T, l *mem.Link, c chan struct{}, next *uint64, n int, in []*link.Buf, timer *time.Timer) (sleeps int, ok bool) {
	for got := 0; got < n; {
		k := l.Recv(in)
		if k == 0 {
			if !l.Arm(c) {
				continue // frames arrived meanwhile (or a spurious refusal)
			}
			sleeps++
			timer.Reset(hangLimit)
			select {
			case <-c:
			case <-timer.C:
				t.Errorf("lost wake-up: poller asleep %v with %d of %d frames still to come", hangLimit, n-got, n)
				return sleeps, false
			}
			continue
		}
		for _, x := range in[:k] {
			if s := seqOf(x); s != *next {
				t.Errorf("frame %d arrived, want %d", s, *next)
				return sleeps, false
			}
			*next++
			x.Free()
		}
		got += k
	}
	return sleeps, true
}

// TestWakeupPingPong has two goroutines exchange one frame at a time, each
// sleeping on Arm while it waits for the other: every exchange goes through
// the arm/publish race, which must never lose the wake-up.
func TestWakeupPingPong(t *testing.T) {
	rounds := 20000
	if testing.Short() {
		rounds = 2000
	}
	a, b := smallPair(t, mem.WithRingSize(4))
	defer a.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // echo side: receive from a, send the same Buf back
		defer wg.Done()
		c := make(chan struct{}, 1)
		timer := time.NewTimer(hangLimit)
		in := make([]*link.Buf, 1)
		for i := 0; i < rounds; i++ {
			for b.Recv(in) == 0 {
				if b.Arm(c) {
					timer.Reset(hangLimit)
					select {
					case <-c:
					case <-timer.C:
						t.Errorf("echo side: lost wake-up at round %d", i)
						return
					}
				}
			}
			for b.Send(in) == 0 {
				runtime.Gosched()
			}
		}
	}()
	c := make(chan struct{}, 1)
	timer := time.NewTimer(hangLimit)
	in := make([]*link.Buf, 1)
	var next uint64
	sleeps := 0
	for i := 0; i < rounds; i++ {
		if a.Send([]*link.Buf{frame(t, a, uint64(i), 60)}) != 1 {
			t.Fatal("Send refused with one frame in flight")
		}
		s, ok := waitFrames(t, a, c, &next, 1, in, timer)
		sleeps += s
		if !ok {
			break
		}
	}
	wg.Wait()
	t.Logf("%d rounds, initiator slept %d times", rounds, sleeps)
	if a.Pool().InUse() != 0 {
		t.Fatalf("InUse %d after ping-pong", a.Pool().InUse())
	}
}

// TestWakeupStream streams frames in random bursts with random pauses from
// one goroutine while the receiver sleeps whenever the ring runs dry.
func TestWakeupStream(t *testing.T) {
	total := 200000
	if testing.Short() {
		total = 20000
	}
	a, b := smallPair(t, mem.WithRingSize(64))
	defer a.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(3, 4))
		out := make([]*link.Buf, 64)
		seq := uint64(0)
		for seq < uint64(total) {
			k := 1 + r.IntN(min(16, total-int(seq)))
			got := 0
			for got < k {
				x := a.Pool().Get()
				if x == nil {
					break // all buffers in flight
				}
				x.Extend(60)
				x.Bytes()[0] = 0
				out[got] = x
				got++
			}
			for i := 0; i < got; i++ {
				putSeq(out[i], seq+uint64(i))
			}
			sent := 0
			for sent < got {
				n := a.Send(out[sent:got])
				sent += n
				if n == 0 {
					runtime.Gosched()
				}
			}
			seq += uint64(got)
			if r.IntN(4) == 0 {
				runtime.Gosched() // let the receiver fall asleep
			}
		}
	}()
	c := make(chan struct{}, 1)
	timer := time.NewTimer(hangLimit)
	var next uint64
	sleeps, _ := waitFrames(t, b, c, &next, total, make([]*link.Buf, 32), timer)
	wg.Wait()
	t.Logf("%d frames, receiver slept %d times", total, sleeps)
	if a.Pool().InUse() != 0 {
		t.Fatalf("InUse %d after streaming", a.Pool().InUse())
	}
}

// TestCloseWakesSleeper closes the pair from a third goroutine while both
// ends sleep on Arm.
func TestCloseWakesSleeper(t *testing.T) {
	for i := 0; i < 100; i++ {
		a, b := smallPair(t, tinyPool)
		var wg, armed sync.WaitGroup
		for _, l := range []*mem.Link{a, b} {
			wg.Add(1)
			armed.Add(1)
			go func(l *mem.Link) {
				defer wg.Done()
				c := make(chan struct{}, 1)
				timer := time.NewTimer(hangLimit)
				defer timer.Stop()
				in := make([]*link.Buf, 4)
				first := true
				for {
					if l.Recv(in) != 0 {
						t.Error("Recv returned frames nobody sent")
						return
					}
					if !l.Arm(c) {
						if first {
							armed.Done()
						}
						return // closed
					}
					if first {
						armed.Done() // registered: Close must now wake us
						first = false
					}
					select {
					case <-c:
					case <-timer.C:
						t.Error("Close did not wake a sleeping poller")
						return
					}
				}
			}(l)
		}
		armed.Wait()
		if i%2 == 0 {
			a.Close()
		} else {
			b.Close()
		}
		wg.Wait()
	}
}

// TestCloseRacesTraffic closes the pair while both ends are sending and
// receiving; every Buf must end up back in its pool exactly once.
func TestCloseRacesTraffic(t *testing.T) {
	for i := 0; i < 20; i++ {
		a, b := smallPair(t, mem.WithRingSize(16), tinyPool)
		var wg sync.WaitGroup
		for _, l := range []*mem.Link{a, b} {
			wg.Add(1)
			go func(l *mem.Link) {
				defer wg.Done()
				out := make([]*link.Buf, 8)
				in := make([]*link.Buf, 8)
				for j := 0; j < 1000; j++ {
					k := 0
					for ; k < len(out); k++ {
						if out[k] = l.Pool().Get(); out[k] == nil {
							break
						}
						out[k].Extend(60)
					}
					n := l.Send(out[:k])
					for _, x := range out[n:k] {
						x.Free()
					}
					for _, x := range in[:l.Recv(in)] {
						x.Free()
					}
				}
			}(l)
		}
		runtime.Gosched()
		if i%2 == 0 {
			a.Close()
		} else {
			b.Close()
		}
		wg.Wait()
		if a.Pool().InUse() != 0 || b.Pool().InUse() != 0 {
			t.Fatalf("after close under traffic: InUse a=%d b=%d", a.Pool().InUse(), b.Pool().InUse())
		}
	}
}

// tinyPool keeps the many pairs made by the close tests cheap.
var tinyPool = mem.WithPool(link.PoolConfig{Count: 32, Size: 128})

func putSeq(b *link.Buf, seq uint64) {
	d := b.Bytes()
	for i := 0; i < 8; i++ {
		d[i] = byte(seq >> (56 - 8*i))
	}
}

// After Close has dropped the frames still queued, RxPending no longer
// reports them: a poller spinning on it would wait for a Recv that
// returns nothing.
func TestRxPendingAfterClose(t *testing.T) {
	a, b := mem.Pair()
	f := a.Pool().Get()
	f.Extend(60)
	if a.Send([]*link.Buf{f}) != 1 {
		t.Fatal("Send refused the frame")
	}
	if !b.RxPending() {
		t.Fatal("RxPending false with a frame queued")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if b.RxPending() {
		t.Error("RxPending true after Close dropped the queued frame")
	}
	if n := b.Recv(make([]*link.Buf, 4)); n != 0 {
		t.Errorf("Recv after Close returned %d frames", n)
	}
}
