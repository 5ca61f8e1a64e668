package shard

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// The reference model: a plain map of armed timers with their fire tick,
// scanned linearly. It checks the wheel in lock step: every OnTimer the
// wheel makes must be one the model allows at that moment (the timer is
// armed, due, and nothing due has an earlier tick), and after each
// Advance nothing due may be left.

type refEntry struct {
	when    time.Duration
	tick    uint64
	overdue bool // armed with its tick already processed: fires next Advance
	gen     int  // Advance count when armed
}

type model struct {
	t       *testing.T
	w       *Wheel
	tick    time.Duration
	rng     *rand.Rand
	timers  []*testTimer
	ref     map[int]refEntry
	cur     uint64 // first unprocessed tick
	lastNow time.Duration
	gen     int
	inAdv   bool
	nowTick uint64
	fired   int
	failed  bool
}

type testTimer struct {
	Timer
	id int
	m  *model
}

func (tt *testTimer) OnTimer(now time.Duration, tx *TX) { tt.m.onFire(tt, now) }

func newModel(t *testing.T, seed uint64, n int, tick time.Duration) *model {
	m := &model{
		t:    t,
		w:    NewWheel(tick),
		tick: tick,
		rng:  rand.New(rand.NewPCG(seed, seed*7919+1)),
		ref:  map[int]refEntry{},
	}
	for i := range n {
		tt := &testTimer{id: i, m: m}
		tt.Init(tt)
		m.timers = append(m.timers, tt)
	}
	return m
}

func (m *model) fail(format string, a ...any) {
	m.t.Helper()
	if !m.failed {
		m.failed = true
		m.t.Errorf(format, a...)
	}
}

func (m *model) ceilTick(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	return uint64((d + m.tick - 1) / m.tick)
}

func (m *model) arm(id int, when time.Duration) {
	m.w.Arm(&m.timers[id].Timer, when)
	tk := m.ceilTick(when)
	m.ref[id] = refEntry{
		when:    when,
		tick:    tk,
		overdue: tk < m.cur || (m.inAdv && tk <= m.nowTick),
		gen:     m.gen,
	}
}

func (m *model) cancel(id int) {
	m.w.Cancel(&m.timers[id].Timer)
	delete(m.ref, id)
}

func (m *model) eligible(e refEntry) bool {
	if e.overdue {
		return e.gen < m.gen
	}
	return e.tick <= m.nowTick
}

func key(e refEntry) int64 {
	if e.overdue {
		return -1
	}
	return int64(e.tick)
}

func (m *model) onFire(tt *testTimer, now time.Duration) {
	if !m.inAdv {
		m.fail("timer %d fired outside Advance", tt.id)
		return
	}
	if now != m.lastNow {
		m.fail("timer %d fired with now %v, want %v", tt.id, now, m.lastNow)
	}
	e, ok := m.ref[tt.id]
	switch {
	case !ok:
		m.fail("timer %d fired but is not armed", tt.id)
		return
	case !m.eligible(e):
		m.fail("timer %d fired early: tick %d overdue %v gen %d, advancing to tick %d gen %d",
			tt.id, e.tick, e.overdue, e.gen, m.nowTick, m.gen)
	}
	for id, o := range m.ref {
		if id != tt.id && m.eligible(o) && key(o) < key(e) {
			m.fail("timer %d (key %d) fired before timer %d (key %d)", tt.id, key(e), id, key(o))
			break
		}
	}
	if tt.Armed() {
		m.fail("timer %d still Armed inside OnTimer", tt.id)
	}
	delete(m.ref, tt.id)
	m.fired++
	// Act from inside the handler.
	switch r := m.rng.IntN(10); {
	case r < 3:
		m.arm(tt.id, now+m.offset())
	case r < 5:
		m.cancel(m.rng.IntN(len(m.timers)))
	case r < 8:
		m.arm(m.rng.IntN(len(m.timers)), now+m.offset())
	}
}

// offset draws a deadline offset on mixed scales, including the past and
// beyond the wheel's range.
func (m *model) offset() time.Duration {
	t := m.tick
	switch m.rng.IntN(8) {
	case 0:
		return -time.Duration(m.rng.IntN(100)) * t / 3
	case 1, 2:
		return time.Duration(m.rng.Int64N(int64(64 * t)))
	case 3, 4:
		return time.Duration(m.rng.Int64N(int64(4096 * t)))
	case 5:
		return time.Duration(m.rng.Int64N(int64(1<<18) * int64(t)))
	case 6:
		return time.Duration(m.rng.Int64N(int64(1<<24) * int64(t)))
	default:
		return time.Duration(m.rng.Int64N(int64(1<<27) * int64(t)))
	}
}

func (m *model) step() time.Duration {
	t := m.tick
	switch m.rng.IntN(10) {
	case 0:
		return 0
	case 1, 2, 3:
		return time.Duration(m.rng.Int64N(int64(3 * t)))
	case 4, 5:
		return time.Duration(m.rng.Int64N(int64(200 * t)))
	case 6, 7:
		return time.Duration(m.rng.Int64N(int64(10000 * t)))
	case 8:
		return time.Duration(m.rng.Int64N(int64(1<<20) * int64(t)))
	default:
		return time.Duration(m.rng.Int64N(int64(1<<25) * int64(t)))
	}
}

func (m *model) advance(now time.Duration) {
	m.gen++
	m.inAdv = true
	m.lastNow = max(m.lastNow, now)
	m.nowTick = uint64(m.lastNow / m.tick)
	before := m.fired
	n := m.w.Advance(now, nil)
	if n != m.fired-before {
		m.fail("Advance returned %d, handlers ran %d", n, m.fired-before)
	}
	for id, e := range m.ref {
		if m.eligible(e) {
			m.fail("after Advance(%v) timer %d (tick %d, overdue %v) is due but did not fire", now, id, e.tick, e.overdue)
			break
		}
	}
	m.inAdv = false
	m.cur = max(m.cur, m.nowTick+1)
}

func (m *model) check() {
	if m.w.Len() != len(m.ref) {
		m.fail("Len %d, model has %d armed", m.w.Len(), len(m.ref))
	}
	for id, tt := range m.timers {
		e, ok := m.ref[id]
		if tt.Armed() != ok {
			m.fail("timer %d Armed %v, model %v", id, tt.Armed(), ok)
		} else if ok && tt.When() != e.when {
			m.fail("timer %d When %v, model %v", id, tt.When(), e.when)
		}
	}
	var want time.Duration
	wantOK, overdue := false, false
	minTk := uint64(math.MaxUint64)
	for _, e := range m.ref {
		wantOK = true
		if e.overdue {
			overdue = true
		} else {
			minTk = min(minTk, e.tick)
		}
	}
	if overdue {
		want = m.lastNow
	} else if wantOK {
		want = time.Duration(minTk) * m.tick
	}
	got, ok := m.w.Next()
	if ok != wantOK || got != want {
		m.fail("Next = %v, %v; model %v, %v", got, ok, want, wantOK)
	}
}

func runModel(t *testing.T, seed uint64, tick time.Duration, steps int) {
	m := newModel(t, seed, 48, tick)
	now := time.Duration(0)
	for i := 0; i < steps && !m.failed; i++ {
		switch r := m.rng.IntN(10); {
		case r < 4:
			m.arm(m.rng.IntN(len(m.timers)), now+m.offset())
		case r < 5:
			m.cancel(m.rng.IntN(len(m.timers)))
		default:
			now += m.step()
			m.advance(now)
		}
		m.check()
	}
	if m.fired == 0 {
		t.Errorf("seed %d: nothing fired; the test exercises nothing", seed)
	}
}

func TestWheelMatchesReference(t *testing.T) {
	for _, tick := range []time.Duration{time.Millisecond, 7 * time.Microsecond} {
		for seed := uint64(1); seed <= 6; seed++ {
			runModel(t, seed, tick, 6000)
		}
	}
}

type countHandler struct{ n int }

func (c *countHandler) OnTimer(time.Duration, *TX) { c.n++ }

func TestWheelTCPDeadlines(t *testing.T) {
	// Delayed ACK (40 ms), RTO (200 ms) and keepalive (2 h) armed mid-tick
	// fire on the first tick boundary at or after their deadline.
	w := NewWheel(time.Millisecond)
	start := 12*time.Millisecond + 300*time.Microsecond
	w.Advance(start, nil)
	for _, d := range []time.Duration{40 * time.Millisecond, 200 * time.Millisecond, 2 * time.Hour, 30 * time.Hour} {
		var h countHandler
		var tm Timer
		tm.Init(&h)
		w.Arm(&tm, start+d)
		fire := (start + d + time.Millisecond - 1).Truncate(time.Millisecond)
		if got, _ := w.Next(); got != fire {
			t.Errorf("%v: Next = %v, want %v", d, got, fire)
		}
		w.Advance(fire-1, nil)
		if h.n != 0 {
			t.Fatalf("%v: fired before %v", d, fire)
		}
		w.Advance(fire, nil)
		if h.n != 1 {
			t.Fatalf("%v: did not fire at %v", d, fire)
		}
		start = fire
	}
}

func TestWheelUninitTimerIgnored(t *testing.T) {
	w := NewWheel(0)
	var tm Timer
	w.Arm(&tm, time.Second)
	if tm.Armed() || w.Len() != 0 {
		t.Fatal("Arm of a timer without handler armed it")
	}
	w.Cancel(&tm) // no-op
}

// selfRearm re-arms its timer every period when it fires.
type selfRearm struct {
	Timer
	w      *Wheel
	period time.Duration
}

func (s *selfRearm) OnTimer(now time.Duration, tx *TX) { s.w.Arm(&s.Timer, now+s.period) }

func TestWheelZeroAlloc(t *testing.T) {
	w := NewWheel(time.Millisecond)
	ts := make([]selfRearm, 256)
	for i := range ts {
		ts[i] = selfRearm{w: w, period: time.Duration(i%97+1) * time.Millisecond}
		ts[i].Init(&ts[i])
	}
	now := time.Duration(0)
	i := 0
	if a := testing.AllocsPerRun(1000, func() {
		tm := &ts[i%len(ts)]
		i++
		w.Arm(&tm.Timer, now+time.Duration(i%5000)*time.Millisecond)
		w.Arm(&tm.Timer, now+time.Duration(i%300)*time.Millisecond)
		w.Cancel(&tm.Timer)
	}); a != 0 {
		t.Errorf("Arm/re-Arm/Cancel: %v allocs", a)
	}
	for j := range ts {
		w.Arm(&ts[j].Timer, ts[j].period)
	}
	fired := 0
	if a := testing.AllocsPerRun(1000, func() {
		now += time.Millisecond
		fired += w.Advance(now, nil)
	}); a != 0 {
		t.Errorf("Advance with firing: %v allocs", a)
	}
	if fired == 0 {
		t.Error("nothing fired")
	}
}

func BenchmarkWheelArm(b *testing.B) {
	w := NewWheel(time.Millisecond)
	ts := make([]selfRearm, 4096)
	for i := range ts {
		ts[i].Init(&ts[i])
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		w.Arm(&ts[i&4095].Timer, time.Duration(i&1023)*time.Millisecond+200*time.Millisecond)
	}
}

func BenchmarkWheelArmCancel(b *testing.B) {
	w := NewWheel(time.Millisecond)
	ts := make([]selfRearm, 4096)
	for i := range ts {
		ts[i].Init(&ts[i])
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tm := &ts[i&4095].Timer
		w.Arm(tm, time.Duration(i&1023)*time.Millisecond+40*time.Millisecond)
		w.Cancel(tm)
	}
}

// BenchmarkWheelAdvance: 4096 periodic timers (periods 1–200 ms); each op
// advances 1 ms and fires and re-arms whatever is due.
func BenchmarkWheelAdvance(b *testing.B) {
	w := NewWheel(time.Millisecond)
	ts := make([]selfRearm, 4096)
	for i := range ts {
		ts[i] = selfRearm{w: w, period: time.Duration(i%200+1) * time.Millisecond}
		ts[i].Init(&ts[i])
		w.Arm(&ts[i].Timer, ts[i].period)
	}
	now := time.Duration(0)
	fired := 0
	b.ReportAllocs()
	for b.Loop() {
		now += time.Millisecond
		fired += w.Advance(now, nil)
	}
	b.ReportMetric(float64(fired)/float64(b.N), "fired/op")
}

// FuzzWheel runs the lock-step reference check from fuzzed seeds and tick
// sizes.
func FuzzWheel(f *testing.F) {
	f.Add(uint64(11), uint16(1000))
	f.Add(uint64(12), uint16(3))
	f.Fuzz(func(t *testing.T, seed uint64, tickUs uint16) {
		tick := time.Duration(max(tickUs, 1)) * time.Microsecond
		runModel(t, seed, tick, 1500)
	})
}
