package ustack_test

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/ustack/ustack/shard"
)

// A dial that cannot start (no route: off-link, no gateway) fails at once
// with the errno, reported through the same wait as the handshake's
// outcome; the stack then dials normally.
func TestTCPDialNoRouteFailsAtOnce(t *testing.T) {
	a, b := benchPair(t, shard.Adaptive)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := a.DialContext(ctx, "tcp4", "192.0.2.1:80")
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "dial" || !errors.Is(err, syscall.ENETUNREACH) {
		t.Fatalf("dial off-link without a gateway: %v; want a dial *net.OpError matching ENETUNREACH", err)
	}
	ln, err := b.Listen("tcp4", ":9")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := a.DialContext(ctx, "tcp4", "10.0.0.2:9")
	if err != nil {
		t.Fatal(err)
	}
	if c.LocalAddr() == nil || c.RemoteAddr().String() != "10.0.0.2:9" {
		t.Fatalf("addresses %v -> %v", c.LocalAddr(), c.RemoteAddr())
	}
	c.Close()
}
