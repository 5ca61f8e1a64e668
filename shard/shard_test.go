package shard

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
)

// echo sends every received frame straight back and logs the order of
// callbacks when log is non-nil.
type echo struct {
	l      *fakeLink
	inputs int
	ends   int
	drop   bool
	log    *[]string
	burst  [][]int64 // link sends observed at Input / EndBurst time
}

func (h *echo) Input(now time.Duration, b *link.Buf, tx *TX) {
	h.inputs++
	if h.log != nil {
		*h.log = append(*h.log, "input")
		h.burst = append(h.burst, []int64{h.l.nsent.Load()})
	}
	if h.drop {
		b.Free()
		return
	}
	tx.Send(b)
}

func (h *echo) EndBurst(now time.Duration, tx *TX) {
	h.ends++
	if h.log != nil {
		*h.log = append(*h.log, "end")
		h.burst = append(h.burst, []int64{h.l.nsent.Load()})
	}
}

func newTestShard(t testing.TB, l link.Link, h Handler, cfg Config) *Shard {
	t.Helper()
	cfg.Link, cfg.Handler = l, h
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewValidates(t *testing.T) {
	l := newFakeLink(8)
	h := &echo{l: l}
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"nil link", Config{Handler: h}},
		{"nil handler", Config{Link: l}},
		{"negative burst", Config{Link: l, Handler: h, Burst: -1}},
		{"huge burst", Config{Link: l, Handler: h, Burst: 5000}},
		{"bad mode", Config{Link: l, Handler: h, Mode: 9}},
		{"negative spin", Config{Link: l, Handler: h, SpinTime: -1}},
		{"huge inbox", Config{Link: l, Handler: h, InboxSize: 1 << 21}},
		{"tiny tick", Config{Link: l, Handler: h, Tick: time.Nanosecond}},
		{"negative retries", Config{Link: l, Handler: h, TxRetries: -1}},
	} {
		if _, err := New(tc.cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", tc.name, err)
		}
	}
	s, err := New(Config{Link: l, Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Config()
	if c.Burst != 32 || c.SpinTime != 50*time.Microsecond || c.InboxSize != 1024 ||
		c.Tick != time.Millisecond || c.Mode != Adaptive || c.Clock == nil {
		t.Errorf("defaults not applied: %+v", c)
	}
}

func TestModeStrings(t *testing.T) {
	for _, m := range []Mode{Adaptive, Busy, Interrupt} {
		got, err := ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseMode("poll"); err == nil {
		t.Error("ParseMode accepted an unknown mode")
	}
	if s := Mode(7).String(); s != "Mode(7)" {
		t.Errorf("Mode(7).String() = %q", s)
	}
}

func TestStepInputEndBurstTX(t *testing.T) {
	l := newFakeLink(64)
	var log []string
	h := &echo{l: l, log: &log}
	s := newTestShard(t, l, h, Config{Burst: 8})
	for i := range 5 {
		l.inject(l.frame(byte(i)))
	}
	if next := s.Step(0); next != math.MaxInt64 {
		t.Errorf("Step = %v, want MaxInt64 (nothing pending)", next)
	}
	want := []string{"input", "input", "input", "input", "input", "end"}
	if len(log) != len(want) {
		t.Fatalf("callbacks %v, want %v", log, want)
	}
	for i := range want {
		if log[i] != want[i] {
			t.Fatalf("callbacks %v, want %v", log, want)
		}
		if h.burst[i][0] != 0 {
			t.Errorf("frames reached the link before the end of the iteration (at %s #%d)", log[i], i)
		}
	}
	if got := l.sentTags(); string(got) != "\x00\x01\x02\x03\x04" {
		t.Errorf("sent %v, want frames 0..4 in order", got)
	}
	st := s.Stats()
	if st.RxFrames != 5 || st.TxFrames != 5 || st.Iterations != 1 || st.IdleIterations != 0 {
		t.Errorf("stats %+v", st)
	}
	s.Step(0)
	if st := s.Stats(); st.IdleIterations != 1 {
		t.Errorf("idle iterations %d, want 1", st.IdleIterations)
	}
	if l.pool.InUse() != 0 {
		t.Errorf("%d buffers leaked", l.pool.InUse())
	}
}

func TestStepMoreRXReturnsNow(t *testing.T) {
	l := newFakeLink(64)
	s := newTestShard(t, l, &echo{l: l}, Config{Burst: 4})
	for i := range 6 {
		l.inject(l.frame(byte(i)))
	}
	if next := s.Step(7 * time.Millisecond); next != 7*time.Millisecond {
		t.Errorf("full burst: Step = %v, want now", next)
	}
	if next := s.Step(8 * time.Millisecond); next != math.MaxInt64 {
		t.Errorf("drained: Step = %v, want MaxInt64", next)
	}
	if got := s.Stats().RxFrames; got != 6 {
		t.Errorf("rx %d, want 6", got)
	}
}

func TestTXRefusalRetried(t *testing.T) {
	l := newFakeLink(64)
	s := newTestShard(t, l, &echo{l: l}, Config{Burst: 8, TxRetries: 3})
	l.setAccept(2)
	for i := range 5 {
		l.inject(l.frame(byte(i)))
	}
	next := s.Step(time.Millisecond)
	if want := time.Millisecond + DefaultTxRetryDelay; next != want {
		t.Errorf("with refused frames Step = %v, want %v", next, want)
	}
	if got := len(l.sentTags()); got != 2 {
		t.Fatalf("first flush sent %d, want 2", got)
	}
	l.setAccept(0)
	s.Step(2 * time.Millisecond) // no progress: one retry
	l.setAccept(-1)
	if next := s.Step(3 * time.Millisecond); next != math.MaxInt64 {
		t.Errorf("after flush Step = %v, want MaxInt64", next)
	}
	if got := l.sentTags(); string(got) != "\x00\x01\x02\x03\x04" {
		t.Errorf("sent %v, want 0..4 in order", got)
	}
	st := s.Stats()
	if st.TxFrames != 5 || st.TxDrops != 0 || st.TxRetries != 3+3 {
		t.Errorf("stats %+v, want 5 sent, 0 drops, 6 retries", st)
	}
	if l.pool.InUse() != 0 {
		t.Errorf("%d buffers leaked", l.pool.InUse())
	}
}

func TestTXRefusalBoundedDrop(t *testing.T) {
	l := newFakeLink(64)
	s := newTestShard(t, l, &echo{l: l}, Config{Burst: 8, TxRetries: 3, TxHoldTime: 2 * time.Millisecond})
	l.setAccept(0)
	for i := range 5 {
		l.inject(l.frame(byte(i)))
	}
	// Attempt 1 is in the receiving iteration; after the 3 retries
	// allowed also fail (attempt 4) the frames are dropped.
	for i := range 3 {
		s.Step(time.Duration(i) * time.Millisecond)
		if d := s.Stats().TxDrops; d != 0 {
			t.Fatalf("dropped after %d attempts", i+1)
		}
	}
	if next := s.Step(3 * time.Millisecond); next != math.MaxInt64 {
		t.Errorf("after drop Step = %v, want MaxInt64", next)
	}
	st := s.Stats()
	if st.TxDrops != 5 || st.TxFrames != 0 {
		t.Errorf("stats %+v, want 5 drops", st)
	}
	if l.pool.InUse() != 0 {
		t.Errorf("%d buffers leaked", l.pool.InUse())
	}
}

// A link that refuses for many quick iterations but less than TxHoldTime
// (a slow peer) loses nothing; the frames go out when it accepts again.
func TestTXHeldWhileSlow(t *testing.T) {
	l := newFakeLink(64)
	s := newTestShard(t, l, &echo{l: l}, Config{Burst: 8, TxRetries: 3})
	l.setAccept(0)
	for i := range 5 {
		l.inject(l.frame(byte(i)))
	}
	for i := range 50 { // 50 attempts within 50µs: far more than TxRetries
		s.Step(time.Duration(i) * time.Microsecond)
	}
	if d := s.Stats().TxDrops; d != 0 {
		t.Fatalf("%d frames dropped while the link was only slow", d)
	}
	l.setAccept(-1)
	s.Step(time.Millisecond)
	if got := l.sentTags(); string(got) != "\x00\x01\x02\x03\x04" {
		t.Errorf("sent %v, want 0..4 in order", got)
	}
	// A queue deeper than a burst holds more than Burst frames.
	if s.Config().TxQueueLen != DefaultTxQueueLen {
		t.Errorf("TxQueueLen default %d, want %d", s.Config().TxQueueLen, DefaultTxQueueLen)
	}
}

func TestTXBatchFullDrops(t *testing.T) {
	l := newFakeLink(64)
	s := newTestShard(t, l, &echo{l: l}, Config{Burst: 4, TxQueueLen: 4})
	l.setAccept(0)
	for i := range 4 {
		l.inject(l.frame(byte(i)))
	}
	s.Step(0) // 4 queued, refused
	for i := range 3 {
		l.inject(l.frame(byte(10 + i)))
	}
	s.Step(1) // batch full: the link still refuses, new frames are dropped
	if st := s.Stats(); st.TxDrops != 3 {
		t.Errorf("drops %d, want 3", st.TxDrops)
	}
	l.setAccept(-1)
	s.Step(2)
	if got := l.sentTags(); string(got) != "\x00\x01\x02\x03" {
		t.Errorf("sent %v, want the 4 queued frames", got)
	}
	if l.pool.InUse() != 0 {
		t.Errorf("%d buffers leaked", l.pool.InUse())
	}
}

// sendTimer sends a frame tagged tag when it fires and records when.
type sendTimer struct {
	Timer
	l     *fakeLink
	tag   byte
	fired []time.Duration
}

func (st *sendTimer) OnTimer(now time.Duration, tx *TX) {
	st.fired = append(st.fired, now)
	tx.Send(st.l.frame(st.tag))
}

func TestStepTimers(t *testing.T) {
	l := newFakeLink(64)
	s := newTestShard(t, l, &echo{l: l}, Config{})
	a := &sendTimer{l: l, tag: 'a'}
	a.Init(a)
	b := &sendTimer{l: l, tag: 'b'}
	b.Init(b)
	s.Wheel().Arm(&a.Timer, 40*time.Millisecond)
	s.Wheel().Arm(&b.Timer, 200*time.Millisecond+500*time.Microsecond)
	if next := s.Step(0); next != 40*time.Millisecond {
		t.Fatalf("Step = %v, want 40ms", next)
	}
	if next := s.Step(40*time.Millisecond - 1); next != 40*time.Millisecond || len(a.fired) != 0 {
		t.Fatalf("Step just before = %v, fired %v", next, a.fired)
	}
	if next := s.Step(40 * time.Millisecond); next != 201*time.Millisecond {
		t.Errorf("Step at 40ms = %v, want 201ms (200.5ms rounded up to the tick)", next)
	}
	if len(a.fired) != 1 || a.fired[0] != 40*time.Millisecond {
		t.Errorf("a fired at %v, want [40ms]", a.fired)
	}
	if got := l.sentTags(); string(got) != "a" {
		t.Errorf("sent %q, want the timer's frame", got)
	}
	if next := s.Step(250 * time.Millisecond); next != math.MaxInt64 || len(b.fired) != 1 {
		t.Errorf("Step at 250ms = %v, b fired %v", next, b.fired)
	}
	if st := s.Stats(); st.TimersFired != 2 {
		t.Errorf("timers fired %d, want 2", st.TimersFired)
	}
}

// resubmit submits another task from inside Run.
type resubmit struct {
	s    *Shard
	next Task
	ran  int
}

func (r *resubmit) Run(now time.Duration, tx *TX) {
	r.ran++
	if r.next != nil {
		r.s.Submit(r.next)
	}
}

func TestStepInboxReturnsNow(t *testing.T) {
	l := newFakeLink(8)
	s := newTestShard(t, l, &echo{l: l}, Config{InboxSize: 4})
	second := &resubmit{}
	first := &resubmit{s: s, next: second}
	if !s.Submit(first) {
		t.Fatal("Submit refused")
	}
	// The inbox is drained once per iteration; a task queued while
	// draining must still make Step ask to run again now.
	s.Step(0)
	if next := s.Step(3 * time.Millisecond); first.ran != 1 || second.ran != 1 || next != math.MaxInt64 {
		t.Errorf("ran %d/%d, next %v", first.ran, second.ran, next)
	}
}

func TestSubmitFull(t *testing.T) {
	l := newFakeLink(8)
	s := newTestShard(t, l, &echo{l: l}, Config{InboxSize: 4})
	tasks := make([]resubmit, 6)
	for i := range 4 {
		if !s.Submit(&tasks[i]) {
			t.Fatalf("Submit %d refused with room", i)
		}
	}
	if s.Submit(&tasks[4]) {
		t.Fatal("Submit accepted into a full inbox")
	}
	if len(s.inboxWake) != 0 {
		t.Error("Submit signalled the wake channel of a shard that is not parked")
	}
	if s.Submit(nil) {
		t.Fatal("Submit accepted nil")
	}
	s.Step(0)
	for i := range 4 {
		if tasks[i].ran != 1 {
			t.Errorf("task %d ran %d times", i, tasks[i].ran)
		}
	}
	if tasks[4].ran != 0 || !s.Submit(&tasks[5]) {
		t.Error("refused task ran, or inbox still full after drain")
	}
	if st := s.Stats(); st.TasksRun != 4 {
		t.Errorf("tasks run %d, want 4", st.TasksRun)
	}
}
