package afxdp

import (
	"context"
	"errors"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link"
)

var (
	stackAddr  = netip.MustParsePrefix("10.77.0.1/24")
	peerAddr   = netip.MustParsePrefix("10.77.0.2/24")
	kernelAddr = netip.MustParsePrefix("10.77.0.3/24") // namespace A's kernel, same veth
)

// TestStackOverAFXDP runs a ustack Stack on an AF_XDP link in namespace A
// and talks to the kernel in namespace B over the veth pair.
func TestStackOverAFXDP(t *testing.T) {
	t.Run("auto", func(t *testing.T) { testStack(t, AttachAuto, "native") })
	t.Run("generic", func(t *testing.T) { testStack(t, AttachGeneric, "generic") })
}

func testStack(t *testing.T, mode AttachMode, wantMode string) {
	p := newVethPair(t)
	run(t, "ip", "-n", p.NsB, "addr", "add", peerAddr.String(), "dev", p.IfB)
	run(t, "ip", "-n", p.NsA, "addr", "add", kernelAddr.String(), "dev", p.IfA)

	l, err := openIn(t, p.NsA, p.IfA, 0, WithAddrs(stackAddr.Addr()), WithAttachMode(mode))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Logf("XDP program attached in %s mode, zero-copy %v", l.Mode(), l.ZeroCopy())
	if l.Mode() != wantMode {
		t.Errorf("the program runs in %s mode, want %s (veth has native XDP)", l.Mode(), wantMode)
	}
	if out := run(t, "ip", "-n", p.NsA, "link", "show", p.IfA); !strings.Contains(out, "prog/xdp") {
		t.Errorf("ip link shows no XDP program on %s after Open:\n%s", p.IfA, out)
	}
	st, err := ustack.New(ustack.Config{Link: l, Addr: stackAddr})
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			st.Close()
		}
	}()

	// (a) The kernel in B pings the stack: ARP and ICMP for the stack's
	// address reach the socket, the answers leave through the TX ring.
	out, err := exec.Command("ip", "netns", "exec", p.NsB, "ping", "-c", "3", "-i", "0.2", "-W", "2", stackAddr.Addr().String()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), " 0% packet loss") {
		t.Errorf("ping from the kernel to the stack: %v\n%s", err, out)
	}

	// (b) The stack pings the kernel in B.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	rtt, err := st.Ping(ctx, peerAddr.Addr(), 56)
	cancel()
	if err != nil {
		t.Errorf("Stack.Ping %s: %v", peerAddr.Addr(), err)
	} else {
		t.Logf("Stack.Ping %s: %v", peerAddr.Addr(), rtt)
	}

	// (c) Traffic for other addresses still reaches A's kernel.
	out, err = exec.Command("ip", "netns", "exec", p.NsB, "ping", "-c", "2", "-i", "0.2", "-W", "2", kernelAddr.Addr().String()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), " 0% packet loss") {
		t.Errorf("ping from B to namespace A's kernel address (XDP_PASS): %v\n%s", err, out)
	}

	s := l.Stats()
	t.Logf("link stats: %+v", s)
	if s.RxFrames == 0 || s.TxFrames == 0 {
		t.Errorf("stats count no traffic: %+v", s)
	}

	// (d) Closing the stack closes the link, which detaches the program.
	closed = true
	if err := st.Close(); err != nil {
		t.Errorf("Stack.Close: %v", err)
	}
	if out := run(t, "ip", "-n", p.NsA, "link", "show", p.IfA); strings.Contains(out, "prog/xdp") {
		t.Errorf("XDP program still attached after Close:\n%s", out)
	}
	if err := l.Close(); !errors.Is(err, link.ErrClosed) {
		t.Errorf("second Close: %v, want link.ErrClosed", err)
	}
	if n := l.Recv(make([]*link.Buf, 1)); n != 0 {
		t.Errorf("Recv after Close returned %d", n)
	}
	// With the program gone, the kernel in A owns the veth again.
	out, err = exec.Command("ip", "netns", "exec", p.NsB, "ping", "-c", "1", "-W", "2", kernelAddr.Addr().String()).CombinedOutput()
	if err != nil {
		t.Errorf("ping A's kernel after Close: %v\n%s", err, out)
	}
}
