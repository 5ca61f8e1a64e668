package tcp_test

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/internal/netns"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/tap"
)

// The engine against the real Linux TCP stack: a ustack on a TAP device in
// a private network namespace exchanges 4 MiB each way with the kernel,
// once dialing a kernel listener and once accepting a kernel dial. Both
// sides check every byte, and the kernel's own view of the connection
// (ss -tin) must show the options negotiated as Linux expects.
func TestKernelInterop(t *testing.T) {
	netns.Require(t, "ss")
	var (
		kernelAddr = netip.MustParsePrefix("10.77.9.1/24")
		stackAddr  = netip.MustParsePrefix("10.77.9.2/24")
	)
	ns := netns.New(t).NS()
	var l *tap.Link
	if err := ns.Do(func() (err error) {
		l, err = tap.Open("tap0", tap.WithPool(link.PoolConfig{Count: 4096}))
		return err
	}); err != nil {
		t.Fatalf("tap.Open: %v", err)
	}
	defer l.Close()
	ns.IP("addr", "add", kernelAddr.String(), "dev", "tap0")
	ns.IP("link", "set", "tap0", "up")
	s, err := ustack.New(ustack.Config{Link: l, Addr: stackAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	const size = 4 << 20
	pattern := func(salt byte) []byte {
		p := make([]byte, size)
		for i := range p {
			p[i] = byte(i*7) ^ salt ^ byte(i>>11)
		}
		return p
	}
	up, down := pattern(1), pattern(2)
	// exchange sends mine, half-closes, reads the peer's stream to EOF and
	// checks it.
	exchange := func(who string, c net.Conn, mine, theirs []byte) error {
		werr := make(chan error, 1)
		go func() {
			_, err := c.Write(mine)
			if err == nil {
				err = c.(interface{ CloseWrite() error }).CloseWrite()
			}
			werr <- err
		}()
		c.SetReadDeadline(time.Now().Add(60 * time.Second))
		got, err := io.ReadAll(c)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, theirs) {
			t.Errorf("%s received %d bytes, not the %d sent", who, len(got), len(theirs))
		}
		return <-werr
	}

	// The stack dials a kernel listener.
	var kl net.Listener
	if err := ns.Do(func() (err error) { kl, err = net.Listen("tcp", "10.77.9.1:7000"); return }); err != nil {
		t.Fatal(err)
	}
	defer kl.Close()
	kdone := make(chan error, 1)
	var ssOut []byte
	go func() {
		c, err := kl.Accept()
		if err != nil {
			kdone <- err
			return
		}
		defer c.Close()
		ssOut, _ = ns.Command(5*time.Second, "ss", "-tin", "sport", "=", ":7000").CombinedOutput()
		kdone <- exchange("kernel", c, down, up)
	}()
	c, err := s.Dial("tcp", "10.77.9.1:7000")
	if err != nil {
		t.Fatalf("stack dial: %v", err)
	}
	if err := exchange("stack", c, up, down); err != nil {
		t.Fatalf("stack side: %v", err)
	}
	if err := <-kdone; err != nil {
		t.Fatalf("kernel side: %v", err)
	}
	c.Close()
	t.Logf("kernel's view of the connection:\n%s", ssOut)
	// wscale:8 is the scale we offered; an MSS of 1448 (1460 less the
	// 12-byte timestamp option) means timestamps were negotiated.
	for _, want := range []string{"wscale:8,", " mss:1448 "} {
		if !bytes.Contains(ssOut, []byte(want)) {
			t.Errorf("kernel's view lacks %q (window scale or timestamps not negotiated as Linux expects)", want)
		}
	}

	// The kernel dials a stack listener.
	sl, err := s.Listen("tcp", ":8000")
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	sdone := make(chan error, 1)
	go func() {
		c, err := sl.Accept()
		if err != nil {
			sdone <- err
			return
		}
		defer c.Close()
		sdone <- exchange("stack", c, down, up)
	}()
	var kc net.Conn
	if err := ns.Do(func() (err error) { kc, err = net.DialTimeout("tcp", "10.77.9.2:8000", 5*time.Second); return }); err != nil {
		t.Fatalf("kernel dial: %v", err)
	}
	defer kc.Close()
	if err := exchange("kernel", kc, up, down); err != nil {
		t.Fatalf("kernel side: %v", err)
	}
	if err := <-sdone; err != nil {
		t.Fatalf("stack side: %v", err)
	}
}
