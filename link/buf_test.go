package link_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ustack/ustack/link"
)

const (
	testHeadroom = 16
	testSize     = 64
)

func newTestBuf(t testing.TB) *link.Buf {
	t.Helper()
	p := link.MustPool(link.PoolConfig{Count: 1, Size: testSize, Headroom: testHeadroom})
	b := p.Get()
	if b == nil {
		t.Fatal("Get on a fresh pool returned nil")
	}
	return b
}

func TestBufPrependExtendTrimSetLen(t *testing.T) {
	b := newTestBuf(t)
	defer b.Free()

	payload := b.Extend(5)
	copy(payload, "hello")
	hdr := b.Prepend(3)
	copy(hdr, "ab:")
	if got := string(b.Bytes()); got != "ab:hello" {
		t.Fatalf("after Extend+Prepend Bytes=%q", got)
	}
	if b.Headroom() != testHeadroom-3 || b.Tailroom() != testSize-5 || b.Len() != 8 {
		t.Fatalf("headroom=%d tailroom=%d len=%d", b.Headroom(), b.Tailroom(), b.Len())
	}
	if !b.TrimFront(3) || string(b.Bytes()) != "hello" {
		t.Fatalf("TrimFront(3): %q", b.Bytes())
	}
	if !b.SetLen(4) || string(b.Bytes()) != "hell" {
		t.Fatalf("SetLen(4): %q", b.Bytes())
	}
	// SetLen can grow back into bytes that were written before.
	if !b.SetLen(5) || string(b.Bytes()) != "hello" {
		t.Fatalf("SetLen(5): %q", b.Bytes())
	}
	// The slices returned alias the buffer.
	b.Bytes()[0] = 'j'
	if !bytes.Equal(payload, []byte("jello")) {
		t.Fatalf("Bytes does not alias the Extend slice: %q", payload)
	}
}

func TestBufBoundsNeverPanic(t *testing.T) {
	b := newTestBuf(t)
	defer b.Free()
	b.Extend(8) // some data, so TrimFront/SetLen have something to refuse around
	bad := []int{-1, -8, math.MinInt, testSize + testHeadroom + 1, 1 << 40}
	for _, n := range bad {
		before := state(b)
		if s := b.Prepend(n); s != nil || state(b) != before {
			t.Errorf("Prepend(%d) = len %d, state %v -> %v; want nil, unchanged", n, len(s), before, state(b))
		}
		if s := b.Extend(n); s != nil || state(b) != before {
			t.Errorf("Extend(%d) = len %d, state %v -> %v; want nil, unchanged", n, len(s), before, state(b))
		}
		if b.SetLen(n) || state(b) != before {
			t.Errorf("SetLen(%d) succeeded or changed state %v -> %v", n, before, state(b))
		}
		if b.TrimFront(n) || state(b) != before {
			t.Errorf("TrimFront(%d) succeeded or changed state %v -> %v", n, before, state(b))
		}
		_ = b.Bytes()
	}
	b.SetLen(0)
	// Exactly at the limits works.
	if s := b.Prepend(testHeadroom); len(s) != testHeadroom || b.Headroom() != 0 {
		t.Fatalf("Prepend(all headroom): len %d headroom %d", len(s), b.Headroom())
	}
	if b.Prepend(1) != nil {
		t.Fatal("Prepend(1) with no headroom succeeded")
	}
	if s := b.Extend(testSize); len(s) != testSize || b.Tailroom() != 0 {
		t.Fatalf("Extend(all tailroom): len %d tailroom %d", len(s), b.Tailroom())
	}
	if b.Extend(1) != nil || b.SetLen(testHeadroom+testSize+1) {
		t.Fatal("grew past the end of the buffer")
	}
	if !b.TrimFront(b.Len()) || b.Len() != 0 {
		t.Fatal("TrimFront(Len()) failed")
	}
	if b.TrimFront(1) {
		t.Fatal("TrimFront(1) of an empty Buf succeeded")
	}
	// Zero-sized operations are valid no-ops.
	before := state(b)
	if b.Prepend(0) == nil || b.Extend(0) == nil {
		t.Fatal("Prepend(0) or Extend(0) returned nil")
	}
	if !b.TrimFront(0) || !b.SetLen(0) || state(b) != before {
		t.Fatal("zero-size TrimFront/SetLen changed the Buf or failed")
	}
	b.Reset()
	if b.Len() != 0 || b.Headroom() != testHeadroom || b.Tailroom() != testSize {
		t.Fatalf("Reset: len=%d headroom=%d tailroom=%d", b.Len(), b.Headroom(), b.Tailroom())
	}
}

// TestBufHugeLengthsNoOverflow: lengths near math.MaxInt (for example a
// length field from a packet converted to int) must be refused, not wrap
// around in off+n and leave a window that makes Bytes panic.
func TestBufHugeLengthsNoOverflow(t *testing.T) {
	for _, n := range []int{math.MaxInt, math.MaxInt - testHeadroom + 1, math.MaxInt - 1} {
		t.Run("", func(t *testing.T) {
			b := newTestBuf(t)
			defer b.Free()
			b.Extend(8)
			before := state(b)
			okPrepend := b.Prepend(n) != nil
			okExtend := b.Extend(n) != nil
			okSetLen := b.SetLen(n)
			okTrim := b.TrimFront(n)
			if okPrepend || okExtend || okSetLen || okTrim || state(b) != before {
				t.Errorf("n=%d: Prepend %v Extend %v SetLen %v TrimFront %v, state %v -> %v; want all refused, unchanged",
					n, okPrepend, okExtend, okSetLen, okTrim, before, state(b))
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("n=%d: Bytes panicked after the calls: %v", n, r)
					}
				}()
				_ = b.Bytes()
			}()
		})
	}
}

type bufState struct{ headroom, len, tailroom int }

func state(b *link.Buf) bufState { return bufState{b.Headroom(), b.Len(), b.Tailroom()} }

// model is the obvious reference for Buf's window arithmetic: the data is
// a byte slice carved out of a backing array, every operation checked with
// plain comparisons.
type model struct {
	back []byte
	off  int
	n    int
}

func (m *model) prepend(n int) bool {
	if n < 0 || n > m.off {
		return false
	}
	m.off -= n
	m.n += n
	return true
}

func (m *model) extend(n int) bool {
	if n < 0 || m.off+m.n+n > len(m.back) {
		return false
	}
	m.n += n
	return true
}

func (m *model) trim(n int) bool {
	if n < 0 || n > m.n {
		return false
	}
	m.off += n
	m.n -= n
	return true
}

func (m *model) setLen(n int) bool {
	if n < 0 || m.off+n > len(m.back) {
		return false
	}
	m.n = n
	return true
}

// runOps applies ops, decoded from bytes, to a Buf and to the model and
// compares window, return values and contents after every step.
func runOps(t *testing.T, ops []byte) {
	b := newTestBuf(t)
	defer b.Free()
	m := &model{back: make([]byte, testHeadroom+testSize), off: testHeadroom}
	for i := 0; i+1 < len(ops); i += 2 {
		n := int(int8(ops[i+1])) // small, both signs
		if ops[i]&0x80 != 0 {
			n *= 1 << 20 // and sometimes huge
		}
		var got, want bool
		switch ops[i] % 5 {
		case 0:
			s := b.Prepend(n)
			got, want = s != nil, m.prepend(n)
			if got {
				fill(s, byte(i))
				fill(m.back[m.off:m.off+n], byte(i))
			}
		case 1:
			s := b.Extend(n)
			got, want = s != nil, m.extend(n)
			if got {
				fill(s, byte(i))
				fill(m.back[m.off+m.n-n:m.off+m.n], byte(i))
			}
		case 2:
			got, want = b.TrimFront(n), m.trim(n)
		case 3:
			got, want = b.SetLen(n), m.setLen(n)
		case 4:
			b.Reset()
			m.off, m.n = testHeadroom, 0
			got, want = true, true
		}
		if got != want {
			t.Fatalf("op %d (%d, %d): Buf says %v, model says %v", i/2, ops[i]%5, n, got, want)
		}
		if b.Headroom() != m.off || b.Len() != m.n || b.Tailroom() != len(m.back)-m.off-m.n {
			t.Fatalf("op %d: Buf window (%d,%d,%d), model (%d,%d,%d)", i/2,
				b.Headroom(), b.Len(), b.Tailroom(), m.off, m.n, len(m.back)-m.off-m.n)
		}
		if !bytes.Equal(b.Bytes(), m.back[m.off:m.off+m.n]) {
			t.Fatalf("op %d: Buf data %x, model %x", i/2, b.Bytes(), m.back[m.off:m.off+m.n])
		}
	}
}

func fill(s []byte, v byte) {
	for i := range s {
		s[i] = v
	}
}

func TestBufAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ops := make([]byte, 400)
	for round := 0; round < 200; round++ {
		for i := range ops {
			ops[i] = byte(r.Uint32())
		}
		runOps(t, ops)
	}
}

func FuzzBufOps(f *testing.F) {
	f.Add([]byte{0, 4, 1, 10, 2, 2, 3, 50})
	f.Add([]byte{0, 17, 1, 65, 2, 0xff, 3, 0x80})
	f.Add([]byte{0x80, 1, 0x81, 1, 0x82, 1, 0x83, 1, 4, 0})
	f.Add([]byte{1, 64, 0, 16, 2, 80, 3, 0})
	f.Fuzz(runOps)
}
