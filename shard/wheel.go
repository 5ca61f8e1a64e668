package shard

import (
	"math"
	"math/bits"
	"time"
)

// Wheel geometry. Level L has wheelSlots slots, each spanning 64^L ticks, so
// the four levels together cover 2^24 ticks ahead of the wheel's position:
// with the default 1 ms tick that is 16,777 s (4 h 39 min), enough for
// TCP's 2 h keepalive. Timers further out are parked on an overflow list
// that is re-sorted into the wheel each time the position crosses a 2^24-tick
// boundary, so there is no limit on a deadline.
const (
	wheelBits   = 6
	wheelSlots  = 1 << wheelBits
	wheelMask   = wheelSlots - 1
	wheelLevels = 4
	wheelSpan   = wheelBits * wheelLevels // ticks covered: 1 << wheelSpan

	// DefaultTick is the wheel's default resolution.
	DefaultTick = time.Millisecond
)

// Where a Timer is linked (Timer.where). Slot positions are 1+level*64+slot.
const (
	whereNone     = 0
	whereOverflow = 1 + wheelLevels*wheelSlots + iota
	whereDue
	whereFiring
)

// TimerHandler is called when a Timer fires.
type TimerHandler interface {
	// OnTimer runs on the shard with the time of the Advance that fired
	// the timer. It may re-arm or cancel this timer, and arm or cancel
	// any other.
	OnTimer(now time.Duration, tx *TX)
}

// Timer is an intrusive wheel entry: embed it in the struct that owns the
// timeout (one per timer kind per connection) and Init it once. Arming,
// re-arming, cancelling and firing never allocate. A Timer belongs to one
// Wheel at a time and must only be touched by the wheel's goroutine.
type Timer struct {
	next, prev *Timer
	h          TimerHandler
	w          *Wheel
	when       time.Duration // deadline as requested
	tick       uint64        // tick at which it fires: ceil(when / tick)
	where      uint16
}

// Init sets the handler called when t fires. Calling Init on an armed
// timer cancels it first.
func (t *Timer) Init(h TimerHandler) {
	if t.where != whereNone && t.w != nil {
		t.w.Cancel(t)
	}
	t.h = h
}

// Armed reports whether t is waiting to fire.
func (t *Timer) Armed() bool { return t.where != whereNone }

// When is the deadline t was last armed with (meaningful while Armed).
func (t *Timer) When() time.Duration { return t.when }

// Wheel is a hierarchical timing wheel (Varghese & Lauck scheme 6) with
// O(1) Arm, re-Arm and Cancel.
//
// # Resolution and ordering
//
// Deadlines are rounded up to the tick: a timer armed for d fires in the
// first Advance(now) with now >= ceil(d/tick)*tick, so it never fires early
// and fires at most one tick late relative to Advance calls. Timers fire in
// tick order; timers sharing a tick fire in an unspecified (but
// deterministic) order. A timer armed with a deadline already reached —
// including one armed from inside OnTimer for a deadline <= the now being
// advanced to — fires at the start of the next Advance, in arm order, before
// anything else: a handler that keeps re-arming itself into the past cannot
// live-lock Advance.
//
// # Costs
//
// Arm, re-Arm and Cancel are O(1). Advance is O(fired + cascaded timers)
// plus O(levels) per non-empty slot it visits; it skips empty stretches of
// time with per-level occupancy bitmaps, so a long gap between calls costs
// nothing extra. Each timer is cascaded at most once per level (the
// overflow list is re-scanned when the position reaches the 2^24-tick block
// of its earliest timer, skipping empty blocks). Next is O(1) when the
// earliest timer is within 64 ticks of the wheel's position; otherwise it
// scans the one slot holding the earliest timers (or the overflow list) and
// caches the answer until a Cancel of that timer or an Advance that fires.
//
// A Wheel is not safe for concurrent use; it belongs to one shard.
type Wheel struct {
	tick     time.Duration
	cur      uint64 // first tick not yet processed; slots for it are cascaded
	now      time.Duration
	nowTick  uint64 // tick of the Advance in progress
	inAdv    bool
	count    int                 // armed timers
	occ      [wheelLevels]uint64 // occupancy bitmaps
	slots    [wheelLevels][wheelSlots]Timer
	overflow Timer // sentinels of circular lists
	due      Timer
	firing   Timer
	nextTick uint64 // cached earliest tick in slots+overflow (not due)
	nextOK   bool
}

// NewWheel returns an empty wheel at time 0 with the given tick; tick <= 0
// means DefaultTick.
func NewWheel(tick time.Duration) *Wheel {
	w := &Wheel{}
	w.init(tick)
	return w
}

func (w *Wheel) init(tick time.Duration) {
	if tick <= 0 {
		tick = DefaultTick
	}
	w.tick = tick
	for l := range w.slots {
		for s := range w.slots[l] {
			lst := &w.slots[l][s]
			lst.next, lst.prev = lst, lst
		}
	}
	for _, lst := range [...]*Timer{&w.overflow, &w.due, &w.firing} {
		lst.next, lst.prev = lst, lst
	}
	w.nextTick = math.MaxUint64
	w.nextOK = true
}

// Tick is the wheel's resolution.
func (w *Wheel) Tick() time.Duration { return w.tick }

// Len is the number of armed timers.
func (w *Wheel) Len() int { return w.count }

// toTick rounds a deadline up to a tick number.
func (w *Wheel) toTick(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	q := uint64(d / w.tick)
	if d%w.tick != 0 {
		q++
	}
	return q
}

// floorTick is the last tick completed at time now.
func (w *Wheel) floorTick(now time.Duration) uint64 {
	if now <= 0 {
		return 0
	}
	return uint64(now / w.tick)
}

func (w *Wheel) tickTime(t uint64) time.Duration {
	if t > uint64(math.MaxInt64/w.tick) {
		return math.MaxInt64
	}
	return time.Duration(t) * w.tick
}

func pushBack(lst, t *Timer) {
	t.prev = lst.prev
	t.next = lst
	lst.prev.next = t
	lst.prev = t
}

// Arm sets t to fire at when, moving it if it is already armed (in this
// or another wheel). Arming a timer that was never Init-ed does nothing.
func (w *Wheel) Arm(t *Timer, when time.Duration) {
	if t.h == nil {
		return
	}
	if t.where != whereNone {
		t.w.Cancel(t)
	}
	t.w = w
	t.when = when
	t.tick = w.toTick(when)
	w.count++
	if t.tick < w.cur || (w.inAdv && t.tick <= w.nowTick) {
		pushBack(&w.due, t)
		t.where = whereDue
		return
	}
	w.place(t)
	if w.nextOK && t.tick < w.nextTick {
		w.nextTick = t.tick
	}
}

// place links an unlinked timer with tick >= cur into the wheel.
func (w *Wheel) place(t *Timer) {
	tk := t.tick
	x := tk ^ w.cur
	if x >= 1<<wheelSpan {
		pushBack(&w.overflow, t)
		t.where = whereOverflow
		return
	}
	lvl := 0
	if x != 0 {
		lvl = (bits.Len64(x) - 1) / wheelBits
	}
	s := int(tk>>(lvl*wheelBits)) & wheelMask
	pushBack(&w.slots[lvl][s], t)
	w.occ[lvl] |= 1 << s
	t.where = uint16(1 + lvl*wheelSlots + s)
}

// Cancel disarms t. Cancelling a timer that is not armed does nothing.
func (w *Wheel) Cancel(t *Timer) {
	if t.where == whereNone || t.w != w {
		return
	}
	if w.nextOK && t.where != whereDue && t.tick == w.nextTick {
		w.nextOK = false
	}
	w.unlink(t)
}

func (w *Wheel) unlink(t *Timer) {
	t.prev.next = t.next
	t.next.prev = t.prev
	if p := int(t.where) - 1; p >= 0 && p < wheelLevels*wheelSlots {
		lst := &w.slots[p/wheelSlots][p%wheelSlots]
		if lst.next == lst {
			w.occ[p/wheelSlots] &^= 1 << (p % wheelSlots)
		}
	}
	t.next, t.prev = nil, nil
	t.where = whereNone
	w.count--
}

// Next returns the time at which the earliest armed timer will fire (its
// deadline rounded up to the tick) and true, or false when none is armed.
// If a timer is already due it returns the now of the last Advance.
func (w *Wheel) Next() (time.Duration, bool) {
	if w.due.next != &w.due {
		return w.now, true
	}
	if !w.nextOK {
		w.nextTick = w.scanNext()
		w.nextOK = true
	}
	if w.nextTick == math.MaxUint64 {
		return 0, false
	}
	return w.tickTime(w.nextTick), true
}

// scanNext finds the earliest tick among slots and overflow. Levels hold
// disjoint, increasing ranges of ticks, so the first occupied slot of the
// lowest occupied level holds the minimum.
func (w *Wheel) scanNext() uint64 {
	for l := range wheelLevels {
		if w.occ[l] == 0 {
			continue
		}
		s := bits.TrailingZeros64(w.occ[l])
		lst := &w.slots[l][s]
		if l == 0 {
			return lst.next.tick
		}
		return minTick(lst)
	}
	return minTick(&w.overflow)
}

func minTick(lst *Timer) uint64 {
	m := uint64(math.MaxUint64)
	for t := lst.next; t != lst; t = t.next {
		m = min(m, t.tick)
	}
	return m
}

// nextEvent returns the next tick at which a level-0 slot fires or a
// higher slot (or the overflow list) must be cascaded.
func (w *Wheel) nextEvent() uint64 {
	ev := uint64(math.MaxUint64)
	if m := w.occ[0] >> (w.cur & wheelMask); m != 0 {
		return w.cur + uint64(bits.TrailingZeros64(m))
	}
	for l := 1; l < wheelLevels; l++ {
		if w.occ[l] == 0 {
			continue
		}
		sh := uint(l * wheelBits)
		base := w.cur &^ (1<<(sh+wheelBits) - 1)
		ev = base | uint64(bits.TrailingZeros64(w.occ[l]))<<sh
		return max(ev, w.cur)
	}
	if w.overflow.next != &w.overflow {
		// Only parked timers are left: jump straight to the start of the
		// 2^24-tick block holding the earliest (cached, see Next), where
		// one cascade brings it into the levels, instead of visiting
		// every block boundary in between.
		if !w.nextOK {
			w.nextTick = w.scanNext()
			w.nextOK = true
		}
		ev = max(w.nextTick>>wheelSpan<<wheelSpan, w.cur)
	}
	return ev
}

// setCur moves the wheel's position to tk and cascades every level whose
// slot boundary tk is, top level first, so that lower levels receive the
// timers before they are themselves cascaded.
func (w *Wheel) setCur(tk uint64) {
	w.cur = tk
	if tk&wheelMask != 0 {
		return
	}
	if tk&(1<<wheelSpan-1) == 0 {
		w.cascade(&w.overflow, -1, 0)
	}
	for l := wheelLevels - 1; l >= 1; l-- {
		sh := uint(l * wheelBits)
		if tk&(1<<sh-1) != 0 {
			continue
		}
		s := int(tk>>sh) & wheelMask
		if w.occ[l]&(1<<s) != 0 {
			w.cascade(&w.slots[l][s], l, s)
		}
	}
}

// cascade re-places every timer of lst relative to the current position.
func (w *Wheel) cascade(lst *Timer, l, s int) {
	// Detach the whole list first: re-placing may put a timer back on
	// the same list (the overflow list).
	first, last := lst.next, lst.prev
	if first == lst {
		return
	}
	lst.next, lst.prev = lst, lst
	if l >= 0 {
		w.occ[l] &^= 1 << s
	}
	last.next = nil
	for t := first; t != nil; {
		nx := t.next
		t.next, t.prev = nil, nil
		w.place(t)
		t = nx
	}
}

// Advance fires, in tick order, every timer whose deadline rounded up to
// the tick is <= now (and first every timer already due, see Wheel), and
// returns how many fired. tx is handed to each OnTimer. Calling Advance
// with a now earlier than a previous one fires only already-due timers.
func (w *Wheel) Advance(now time.Duration, tx *TX) int {
	if w.inAdv {
		return 0 // re-entered from a handler: ignore
	}
	if now > w.now {
		w.now = now
	}
	w.inAdv = true
	w.nowTick = w.floorTick(w.now)
	fired := 0
	if w.due.next != &w.due {
		w.splice(&w.due)
		fired += w.fire(tx)
	}
	for w.cur <= w.nowTick {
		ev := w.nextEvent()
		if ev > w.nowTick {
			break
		}
		w.setCur(ev)
		s := int(ev & wheelMask)
		if w.occ[0]&(1<<s) != 0 {
			w.occ[0] &^= 1 << s
			w.splice(&w.slots[0][s])
			w.setCur(ev + 1)
			w.nextOK = false
			fired += w.fire(tx)
		}
	}
	if w.cur <= w.nowTick {
		w.setCur(w.nowTick + 1)
	}
	w.inAdv = false
	return fired
}

// splice moves all of lst onto the (empty) firing list.
func (w *Wheel) splice(lst *Timer) {
	f := &w.firing
	f.next, f.prev = lst.next, lst.prev
	f.next.prev, f.prev.next = f, f
	lst.next, lst.prev = lst, lst
	for t := f.next; t != f; t = t.next {
		t.where = whereFiring
	}
}

// fire pops and runs the firing list. A handler may cancel or re-arm
// timers still on it; they simply leave the list.
func (w *Wheel) fire(tx *TX) int {
	n := 0
	f := &w.firing
	for f.next != f {
		t := f.next
		w.unlink(t)
		n++
		t.h.OnTimer(w.now, tx)
	}
	return n
}
