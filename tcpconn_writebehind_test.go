package ustack_test

import (
	"bytes"
	"errors"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/ustack/ustack/shard"
)

// Small Writes return before the shard has taken them (write-behind);
// none of them is lost to a write deadline that passes or to Close.
func TestTCPWriteBehindDelivered(t *testing.T) {
	a, b := newPair(t, shard.Adaptive)
	c, s := connPair(t, a, b)
	var want []byte
	for i := range 200 {
		p := []byte{byte(i), byte(i >> 8), 7}
		if n, err := c.Write(p); n != len(p) || err != nil {
			t.Fatalf("Write %d: %d, %v", i, n, err)
		}
		want = append(want, p...)
	}
	c.SetWriteDeadline(time.Now().Add(-time.Second))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, want the %d written", len(got), len(want))
	}
}

// Once a socket has seen its connection reset, a Write fails at once,
// even one small enough for write-behind.
func TestTCPWriteBehindAfterReset(t *testing.T) {
	a, b := newPair(t, shard.Adaptive)
	c, s := connPair(t, a, b)
	for range 10 {
		if _, err := c.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(s, buf); err != nil {
		t.Fatal(err)
	}
	s.SetLinger(0)
	s.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(buf); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Read after the peer's reset: %v, want ECONNRESET", err)
	}
	if _, err := c.Write([]byte{1}); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Write after the reset: %v, want ECONNRESET", err)
	}
}
