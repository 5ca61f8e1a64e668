package shard

import (
	"sync"
	"testing"
	"time"
)

type seqTask struct{ p, i int }

func (seqTask) Run(time.Duration, *TX) {}

// Producers push concurrently; the single consumer must see every task
// once and each producer's tasks in the order pushed.
func TestInboxMPSCOrder(t *testing.T) {
	var q inbox
	q.init(16)
	const producers, each = 4, 2000
	tasks := make([][]seqTask, producers)
	var wg sync.WaitGroup
	for p := range producers {
		tasks[p] = make([]seqTask, each)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				tasks[p][i] = seqTask{p, i}
				for !q.push(&tasks[p][i]) {
					time.Sleep(time.Microsecond)
				}
			}
		}()
	}
	next := make([]int, producers)
	deadline := time.Now().Add(failAfter)
	for got := 0; got < producers*each; {
		tk := q.pop()
		if tk == nil {
			if time.Now().After(deadline) {
				t.Fatalf("stalled after %d tasks", got)
			}
			time.Sleep(time.Microsecond)
			continue
		}
		st := tk.(*seqTask)
		if st.i != next[st.p] {
			t.Fatalf("producer %d: got task %d, want %d", st.p, st.i, next[st.p])
		}
		next[st.p]++
		got++
	}
	wg.Wait()
	if q.pop() != nil || q.ready() {
		t.Error("inbox not empty after all tasks")
	}
}

func TestInboxCapacityRounded(t *testing.T) {
	var q inbox
	q.init(5) // rounds up to 8
	var tk seqTask
	for i := range 8 {
		if !q.push(&tk) {
			t.Fatalf("push %d refused", i)
		}
	}
	if q.push(&tk) {
		t.Fatal("push into a full inbox accepted")
	}
	if q.pop() == nil || !q.push(&tk) {
		t.Fatal("pop did not make room")
	}
}

func TestMonoClock(t *testing.T) {
	c := NewMonoClock()
	a := c.Now()
	b := c.Now()
	if a < 0 || b < a {
		t.Errorf("clock not monotonic from 0: %v then %v", a, b)
	}
}
