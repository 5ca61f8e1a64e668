package shard

import (
	"sync"
	"sync/atomic"

	"github.com/ustack/ustack/link"
)

// fakeLink is an in-test link.Link: frames injected by the test are
// returned by Recv; Send takes up to accept frames per call (-1 = all),
// records the first payload byte of each and frees it.
type fakeLink struct {
	mu     sync.Mutex
	pool   *link.Pool
	rxq    []*link.Buf
	accept int
	sent   []byte // first byte of each sent frame, in order
	nsent  atomic.Int64
	armed  chan<- struct{}
	onSent chan struct{} // if set, signalled (non-blocking) after each Send that took frames
	fd     int
	notify func() // called after inject queues frames
}

func newFakeLink(poolCount int) *fakeLink {
	return &fakeLink{
		pool:   link.MustPool(link.PoolConfig{Count: poolCount, Size: 256, Headroom: 64}),
		rxq:    make([]*link.Buf, 0, poolCount),
		sent:   make([]byte, 0, 1<<16),
		accept: -1,
		fd:     -1,
	}
}

// frame makes a frame whose first byte is tag.
func (l *fakeLink) frame(tag byte) *link.Buf {
	b := l.pool.Get()
	if b == nil {
		panic("fake link pool empty")
	}
	b.Extend(60)[0] = tag
	return b
}

// inject queues frames for Recv and fires an armed wake-up.
func (l *fakeLink) inject(bs ...*link.Buf) {
	l.mu.Lock()
	l.rxq = append(l.rxq, bs...)
	c := l.armed
	l.armed = nil
	l.mu.Unlock()
	if l.notify != nil {
		l.notify()
	}
	if c != nil {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

func (l *fakeLink) Recv(bufs []*link.Buf) int {
	l.mu.Lock()
	n := copy(bufs, l.rxq)
	m := copy(l.rxq, l.rxq[n:])
	clear(l.rxq[m:])
	l.rxq = l.rxq[:m]
	l.mu.Unlock()
	return n
}

func (l *fakeLink) Send(bufs []*link.Buf) int {
	l.mu.Lock()
	n := len(bufs)
	if l.accept >= 0 {
		n = min(n, l.accept)
	}
	for _, b := range bufs[:n] {
		if len(l.sent) < cap(l.sent) {
			l.sent = append(l.sent, b.Bytes()[0])
		}
		b.Free()
	}
	l.mu.Unlock()
	if n > 0 {
		l.nsent.Add(int64(n))
		if l.onSent != nil {
			select {
			case l.onSent <- struct{}{}:
			default:
			}
		}
	}
	return n
}

func (l *fakeLink) setAccept(n int) {
	l.mu.Lock()
	l.accept = n
	l.mu.Unlock()
}

func (l *fakeLink) sentTags() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.sent...)
}

func (l *fakeLink) MTU() int              { return 1500 }
func (l *fakeLink) HardwareAddr() [6]byte { return [6]byte{2, 0, 0, 0, 0, 1} }
func (l *fakeLink) Pool() *link.Pool      { return l.pool }
func (l *fakeLink) Fd() int               { return l.fd }
func (l *fakeLink) Stats() link.Stats     { return link.Stats{} }
func (l *fakeLink) Close() error          { return nil }

// waitLink adds link.Waiter.
type waitLink struct{ *fakeLink }

func (l waitLink) Arm(c chan<- struct{}) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.rxq) > 0 {
		return false
	}
	l.armed = c
	return true
}

var (
	_ link.Link   = (*fakeLink)(nil)
	_ link.Waiter = waitLink{}
)
