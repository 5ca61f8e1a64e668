package shard_test

import (
	"fmt"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/mem"
	"github.com/ustack/ustack/shard"
)

// reflector sends every frame back and, 40 ms after the first one, a
// frame of its own from a timer.
type reflector struct {
	shard *shard.Shard
	later shard.Timer
}

func (r *reflector) Input(now time.Duration, b *link.Buf, tx *shard.TX) {
	if !r.later.Armed() {
		r.shard.Wheel().Arm(&r.later, now+40*time.Millisecond)
	}
	tx.Send(b)
}

func (r *reflector) EndBurst(now time.Duration, tx *shard.TX) {}

func (r *reflector) OnTimer(now time.Duration, tx *shard.TX) {
	if b := tx.Pool().Get(); b != nil {
		copy(b.Extend(5), "timer")
		tx.Send(b)
	}
}

// A shard stepped on virtual time, as the simulator drives it.
func ExampleShard_Step() {
	peer, l := mem.Pair()
	defer peer.Close()
	r := &reflector{}
	r.later.Init(r)
	s, err := shard.New(shard.Config{Link: l, Handler: r})
	if err != nil {
		panic(err)
	}
	r.shard = s

	b := peer.Pool().Get()
	copy(b.Extend(5), "hello")
	peer.Send([]*link.Buf{b})

	recv := func() {
		got := make([]*link.Buf, 4)
		for _, b := range got[:peer.Recv(got)] {
			fmt.Printf("peer got %q\n", b.Bytes())
			b.Free()
		}
	}
	next := s.Step(10 * time.Millisecond)
	recv()
	fmt.Println("next deadline:", next)
	next = s.Step(next)
	recv()
	fmt.Println("next deadline:", next == 1<<63-1)
	// Output:
	// peer got "hello"
	// next deadline: 50ms
	// peer got "timer"
	// next deadline: true
}
