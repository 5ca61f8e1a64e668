package impair

import (
	"sync"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
)

// fakeLink is a link.Link for tests: Send records frames (accepting at most
// accept per call when accept > 0); Recv returns frames put in inbox.
type fakeLink struct {
	pool   *link.Pool
	sent   []*link.Buf
	inbox  []*link.Buf
	accept int
	closed bool
}

func (f *fakeLink) Recv(bufs []*link.Buf) int {
	n := copy(bufs, f.inbox)
	f.inbox = f.inbox[:copy(f.inbox, f.inbox[n:])]
	return n
}

func (f *fakeLink) Send(bufs []*link.Buf) int {
	n := len(bufs)
	if f.accept > 0 {
		n = min(n, f.accept)
	}
	f.sent = append(f.sent, bufs[:n]...)
	return n
}

func (f *fakeLink) MTU() int              { return 1500 }
func (f *fakeLink) HardwareAddr() [6]byte { return [6]byte{2, 0, 0, 0, 0, 9} }
func (f *fakeLink) Pool() *link.Pool      { return f.pool }
func (f *fakeLink) Fd() int               { return 42 }
func (f *fakeLink) Stats() link.Stats     { return link.Stats{TxErrors: 3} }
func (f *fakeLink) Close() error          { f.closed = true; return nil }
func (f *fakeLink) frame(num byte) *link.Buf {
	b := f.pool.Get()
	b.SetLen(64)
	b.Bytes()[20] = num
	return b
}

// freeSent frees what the fake link transmitted and returns the frame
// numbers in order.
func (f *fakeLink) freeSent() []byte {
	var nums []byte
	for _, b := range f.sent {
		nums = append(nums, b.Bytes()[20])
		b.Free()
	}
	f.sent = f.sent[:0]
	return nums
}

type fakeClock struct{ t time.Duration }

func (c *fakeClock) now() time.Duration { return c.t }

func newWrapped(t *testing.T, cfg Config, opts ...Option) (*Link, *fakeLink, *fakeClock) {
	t.Helper()
	f := &fakeLink{pool: link.MustPool(link.PoolConfig{Count: 64})}
	c := &fakeClock{}
	l, err := Wrap(f, cfg, append([]Option{WithClock(c.now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return l, f, c
}

func TestWrapDelaysSend(t *testing.T) {
	l, f, c := newWrapped(t, Config{Delay: 10 * time.Millisecond})
	if n := l.Send([]*link.Buf{f.frame(1), f.frame(2), f.frame(3)}); n != 3 {
		t.Fatalf("Send took %d", n)
	}
	if len(f.sent) != 0 {
		t.Fatal("frames left before their delay")
	}
	if at, ok := l.NextDue(); !ok || at != 10*time.Millisecond {
		t.Errorf("NextDue = %v, %v", at, ok)
	}
	c.t = 10*time.Millisecond - 1
	l.Send(nil)
	if len(f.sent) != 0 {
		t.Fatal("frames left 1ns early")
	}
	c.t = 10 * time.Millisecond
	l.Recv(make([]*link.Buf, 4)) // Recv releases the send side too
	if got := f.freeSent(); string(got) != "\x01\x02\x03" {
		t.Errorf("sent %v, want 1 2 3", got)
	}
	if st := l.Stats(); st.TxFrames != 3 || st.TxErrors != 3 {
		t.Errorf("stats %+v", st)
	}
	if _, ok := l.NextDue(); ok {
		t.Error("NextDue with nothing held")
	}
	_ = l.Close()
	if !f.closed || f.pool.InUse() != 0 {
		t.Errorf("close: inner closed %v, %d in use", f.closed, f.pool.InUse())
	}
}

func TestWrapDelaysRecv(t *testing.T) {
	l, f, c := newWrapped(t, Config{}, WithReceive(Config{Delay: 5 * time.Millisecond}))
	f.inbox = append(f.inbox, f.frame(7), f.frame(8))
	got := make([]*link.Buf, 4)
	if n := l.Recv(got); n != 0 {
		t.Fatalf("Recv returned %d frames before their delay", n)
	}
	if s, r := l.Held(); s != 0 || r != 2 {
		t.Errorf("held %d/%d, want 0/2", s, r)
	}
	c.t = 5 * time.Millisecond
	f.inbox = append(f.inbox, f.frame(9)) // arrives now: due at 10ms
	if n := l.Recv(got); n != 2 || got[0].Bytes()[20] != 7 || got[1].Bytes()[20] != 8 {
		t.Fatalf("Recv returned %d frames, want 7 and 8", n)
	}
	got[0].Free()
	got[1].Free()
	if at, _ := l.NextDue(); at != 10*time.Millisecond {
		t.Errorf("NextDue %v, want 10ms", at)
	}
	if st := l.Stats(); st.RxFrames != 2 {
		t.Errorf("stats %+v", st)
	}
	_ = l.Close()
	if f.pool.InUse() != 0 || l.Recv(got) != 0 || l.Send(got[:1]) != 0 {
		t.Errorf("after Close: %d in use, or Recv/Send still work", f.pool.InUse())
	}
}

func TestWrapRefusedFramesKeepOrder(t *testing.T) {
	l, f, c := newWrapped(t, Config{Delay: time.Millisecond})
	f.accept = 2
	var bufs []*link.Buf
	for i := byte(0); i < 7; i++ {
		bufs = append(bufs, f.frame(i))
	}
	l.Send(bufs[:4])
	c.t = 500 * time.Microsecond
	l.Send(bufs[4:])
	c.t = 2 * time.Millisecond
	var order []byte
	for i := 0; i < 10; i++ {
		l.Send(nil)
		order = append(order, f.freeSent()...)
	}
	if string(order) != "\x00\x01\x02\x03\x04\x05\x06" {
		t.Errorf("wrapped link saw %v, want 0..6 in order", order)
	}
	_ = l.Close()
	if f.pool.InUse() != 0 {
		t.Error("leak")
	}
}

func TestWrapMaxHeldAndDrops(t *testing.T) {
	l, f, _ := newWrapped(t, Config{Delay: time.Second}, WithMaxHeld(3))
	bufs := []*link.Buf{f.frame(1), f.frame(2), f.frame(3), f.frame(4)}
	if n := l.Send(bufs); n != 3 {
		t.Errorf("Send took %d with room for 3", n)
	}
	bufs[3].Free()
	for i := 0; i < 5; i++ {
		f.inbox = append(f.inbox, f.frame(byte(10+i)))
	}
	l.Recv(make([]*link.Buf, 8))
	if s, r := l.Held(); s != 3 || r != 3 || len(f.inbox) != 2 {
		t.Errorf("held %d/%d with %d left in the wrapped link, want 3/3 and 2", s, r, len(f.inbox))
	}
	for _, b := range f.inbox {
		b.Free()
	}
	_ = l.Close()

	m, g, _ := newWrapped(t, Config{Loss: 1})
	m.Send([]*link.Buf{g.frame(1)})
	g.inbox = append(g.inbox, g.frame(2))
	m.Recv(make([]*link.Buf, 1))
	if st := m.Stats(); st.TxDropped != 1 || st.RxDropped != 1 || g.pool.InUse() != 0 {
		t.Errorf("stats %+v, %d in use", st, g.pool.InUse())
	}
	if tx, rx := m.Impair(); tx.LossDrops != 1 || rx.LossDrops != 1 {
		t.Errorf("model stats %+v %+v", tx, rx)
	}
	if m.Fd() != 42 || m.MTU() != 1500 || m.Pool() != g.pool || m.HardwareAddr() != g.HardwareAddr() {
		t.Error("pass-through methods")
	}
}

func TestWrapRejectsBadConfig(t *testing.T) {
	f := &fakeLink{pool: link.MustPool(link.PoolConfig{Count: 1})}
	if _, err := Wrap(f, Config{Loss: 3}); err == nil {
		t.Error("bad send config accepted")
	}
	if _, err := Wrap(f, Config{}, WithReceive(Config{Delay: -1})); err == nil {
		t.Error("bad receive config accepted")
	}
	if _, err := Wrap(f, Config{}, WithMaxHeld(0)); err == nil {
		t.Error("max held 0 accepted")
	}
	// The wall clock is the default; a zero config passes frames at once.
	l, err := Wrap(f, Config{})
	if err != nil {
		t.Fatal(err)
	}
	l.Send([]*link.Buf{f.frame(1)})
	if len(f.freeSent()) != 1 {
		t.Error("undelayed frame not passed through")
	}
}

func TestWrapAllocs(t *testing.T) {
	l, f, c := newWrapped(t, Config{Delay: time.Millisecond, Jitter: 100, Loss: 0.01, Reorder: 0.01})
	one := make([]*link.Buf, 1)
	got := make([]*link.Buf, 4)
	f.sent = make([]*link.Buf, 0, 16)
	f.inbox = make([]*link.Buf, 0, 16)
	cycle := func() {
		c.t += time.Millisecond
		one[0] = f.frame(1)
		l.Send(one)
		f.inbox = append(f.inbox[:0], f.frame(2))
		for n := l.Recv(got); n > 0; n = l.Recv(got) {
			for _, b := range got[:n] {
				b.Free()
			}
		}
		for _, b := range f.sent {
			b.Free()
		}
		f.sent = f.sent[:0]
	}
	for i := 0; i < 50; i++ {
		cycle()
	}
	if a := testing.AllocsPerRun(500, cycle); a != 0 {
		t.Errorf("Send/Recv cycle allocates %v times", a)
	}
}

func TestWrapCloseFromAnotherGoroutine(t *testing.T) {
	l, f, c := newWrapped(t, Config{Delay: time.Hour})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = l.Close()
	}()
	for i := 0; i < 50; i++ {
		b := f.frame(1)
		if l.Send([]*link.Buf{b}) == 0 {
			b.Free()
		}
		c.t++ // only this goroutine touches the clock
	}
	wg.Wait()
	if f.pool.InUse() != 0 {
		t.Errorf("%d buffers leaked", f.pool.InUse())
	}
}
