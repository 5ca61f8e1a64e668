package ustack_test

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/shard"
)

// sockPair dials b from a over link/mem and returns both ends.
func sockPair(t *testing.T) (a, b *ustack.Stack, client, server *ustack.TCPConn) {
	t.Helper()
	a, b = newPair(t, shard.Adaptive)
	ln, err := b.Listen("tcp", ":9100")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	c, err := a.Dial("tcp", "10.0.0.2:9100")
	if err != nil {
		t.Fatal(err)
	}
	s := <-acc
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return a, b, c.(*ustack.TCPConn), s.(*ustack.TCPConn)
}

// SetKeepAliveConfig's timing reaches the connection: with a 1 s idle time
// probes go out within seconds (the default would wait 2 hours), and the
// peer's answers keep the connection up.
func TestKeepAliveConfigSendsProbes(t *testing.T) {
	a, _, client, _ := sockPair(t)
	if err := client.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 3}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := a.TCPStats()
		if err != nil {
			t.Fatal(err)
		}
		if st.Counters.TCPKeepAliveProbes >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d keepalive probes after 15 s with a 1 s idle time", st.Counters.TCPKeepAliveProbes)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if info := client.Info(); info.State.String() != "ESTABLISHED" {
		t.Fatalf("state %v after answered probes", info.State)
	}
	if err := client.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Count: 200}); err == nil {
		t.Fatal("a probe count of 200 was accepted")
	}
}

// writeUntilBlocked writes to a peer that never reads until the write
// deadline stops it, and returns how much was accepted.
func writeUntilBlocked(t *testing.T, c *ustack.TCPConn) int {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(time.Second))
	n, err := c.Write(make([]byte, 4<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write to a peer that does not read: %d bytes, %v; want a deadline error", n, err)
	}
	return n
}

// SetWriteBuffer bounds what a writer can queue: with the peer not
// reading, what is accepted is the peer's window plus our send buffer.
func TestSetWriteBufferBoundsQueuedData(t *testing.T) {
	_, _, small, _ := sockPair(t)
	if err := small.SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	nSmall := writeUntilBlocked(t, small)
	_, _, dflt, _ := sockPair(t)
	nDefault := writeUntilBlocked(t, dflt)
	// The peer's window is the same (default RcvBuf) in both runs; the
	// send buffers differ by 262144 - 8192 bytes.
	if nDefault-nSmall < 200000 {
		t.Fatalf("accepted %d bytes with an 8 KiB send buffer and %d with the default: the setting did not apply", nSmall, nDefault)
	}
	if err := small.SetReadBuffer(-1); err == nil {
		t.Fatal("SetReadBuffer(-1) succeeded")
	}
	if err := small.SetReadBuffer(65536); err != nil {
		t.Fatal(err)
	}
}
