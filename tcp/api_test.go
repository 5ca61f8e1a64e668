package tcp

import (
	"errors"
	"io"
	"testing"
	"time"
)

// The send ring is bounded: Write takes what fits, then ErrWouldBlock; an
// ACK that frees space raises EventWritable.
func TestWriteBackpressure(t *testing.T) {
	cfg := testConfig()
	cfg.SndBuf = 4096
	h := newHarness(t, cfg)
	h.established("")
	p := make([]byte, 10000)
	n, err := h.c.Write(h.now, p, h.rec)
	if n != 4096 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if n, err := h.c.Write(h.now, p, h.rec); n != 0 || !errors.Is(err, ErrWouldBlock) || h.c.Writable() {
		t.Fatalf("full ring: Write = %d, %v", n, err)
	}
	h.c.TakeEvents()
	h.in("<SEQ=301><ACK=1561><CTL=ACK>")
	if h.c.TakeEvents()&EventWritable == 0 || h.c.WriteSpace() != 1460 || !h.c.Writable() {
		t.Fatal("no room after the ACK")
	}
}

// Closing or aborting before the handshake completes sends nothing.
func TestCloseAndAbortInSynSent(t *testing.T) {
	h := newHarness(t, testConfig())
	h.dial()
	h.out("<SEQ=100><CTL=SYN>")
	h.c.Close(h.now, h.rec)
	h.none()
	if h.c.State() != Closed {
		t.Fatal(h.c.State())
	}
	h = newHarness(t, testConfig())
	h.dial()
	h.out("<SEQ=100><CTL=SYN>")
	h.c.Abort(h.now, h.rec)
	h.none()
	if !errors.Is(h.c.Err(), ErrConnAborted) {
		t.Fatal(h.c.Err())
	}
}

// After a reset, Read returns queued data first, then the error; Write
// fails at once.
func TestReadWriteAfterReset(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.in("<SEQ=301><ACK=101><CTL=ACK><LEN=10>")
	h.in("<SEQ=311><CTL=RST>")
	buf := make([]byte, 100)
	if n, err := h.c.Read(buf, h.now, h.rec); n != 0 || !errors.Is(err, ErrConnReset) {
		// The engine discards the receive queue on reset (Linux would
		// hand out queued data before ECONNRESET).
		t.Fatalf("Read after reset = %d, %v", n, err)
	}
	if _, err := h.c.Write(h.now, buf, h.rec); !errors.Is(err, ErrConnReset) {
		t.Fatal(err)
	}
	if h.pool.InUse() != 0 {
		t.Fatal("buffers held after reset")
	}
}

// A zero-window peer that never answers the probes: the connection gives
// up after Retries2 probes (Linux tcp_probe_timer), and with a user
// timeout once probing has lasted that long.
func TestPersistGivesUp(t *testing.T) {
	cfg := testConfig()
	cfg.Retries2 = 3
	h := newHarness(t, cfg)
	h.established("")
	h.in("<SEQ=301><ACK=101><CTL=ACK><WND=0>")
	h.write(10)
	h.advance(10 * time.Second)
	h.out("@200ms <SEQ=100><CTL=ACK>")
	h.out("@600ms <SEQ=100><CTL=ACK>")
	h.out("@1.4s <SEQ=100><CTL=ACK>")
	h.none()
	if h.c.State() != Closed || !errors.Is(h.c.Err(), ErrTimeout) {
		t.Fatalf("state %v err %v", h.c.State(), h.c.Err())
	}
	if _, err := h.c.Read(make([]byte, 1), h.now, h.rec); !errors.Is(err, ErrTimeout) && err != io.EOF {
		t.Fatal(err)
	}
}

func TestCountersAdd(t *testing.T) {
	a := Counters{InSegs: 3, CurrEstab: 2, TCPLossProbes: 1}
	b := Counters{InSegs: 4, CurrEstab: -1, TW: 5}
	a.Add(&b)
	if a.InSegs != 7 || a.CurrEstab != 1 || a.TW != 5 || a.TCPLossProbes != 1 {
		t.Fatalf("%+v", a)
	}
}

// The challenge-ACK limiter refills continuously and never exceeds its
// burst.
func TestRateLimiter(t *testing.T) {
	r := NewRateLimiter(10, time.Second)
	n := 0
	for i := 0; i < 100; i++ {
		if r.Allow(0) {
			n++
		}
	}
	if n != 10 {
		t.Fatalf("burst %d", n)
	}
	if r.Allow(50*time.Millisecond) || !r.Allow(100*time.Millisecond) || r.Allow(100*time.Millisecond) {
		t.Fatal("refill is not one token per 100 ms")
	}
	n = 0
	for i := 0; i < 100; i++ {
		if r.Allow(time.Hour) {
			n++
		}
	}
	if n != 10 {
		t.Fatalf("after a long idle: %d", n)
	}
}

// A payload that does not alias its frame buffer is copied into it.
func TestPayloadNotAliased(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	b := h.pool.Get()
	s := &Segment{Seq: 301, Ack: 101, Flags: flagACK, Window: 1000, Payload: []byte("hello")}
	h.c.Input(h.now, s, b, h.rec)
	buf := make([]byte, 10)
	if n, err := h.c.Read(buf, h.now, h.rec); n != 5 || err != nil || string(buf[:5]) != "hello" {
		t.Fatalf("Read = %d %v %q", n, err, buf[:n])
	}
	if h.pool.InUse() != 0 {
		t.Fatal("buffer not freed")
	}
}
