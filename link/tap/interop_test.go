package tap_test

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/internal/netns"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/tap"
	"github.com/ustack/ustack/shard"
)

var (
	kernelAddr = netip.MustParsePrefix("10.77.1.1/24")
	stackAddr  = netip.MustParsePrefix("10.77.1.2/24")
)

// bigBufs holds a reassembled 4000-byte ping: the stack reassembles into
// the first fragment's buffer.
var bigBufs = link.PoolConfig{Count: 1024, Size: 8192}

// openTAP makes a namespace, opens TAP device name in it with opts and
// gives the kernel side kernelAddr, up.
func openTAP(t *testing.T, name string, opts ...tap.Option) (*netns.NS, *tap.Link) {
	t.Helper()
	netns.Require(t, "ping")
	ns := netns.New(t).NS()
	var l *tap.Link
	if err := ns.Do(func() (err error) {
		l, err = tap.Open(name, opts...)
		return err
	}); err != nil {
		t.Fatalf("tap.Open(%s): %v", name, err)
	}
	t.Cleanup(func() { l.Close() })
	ns.IP("addr", "add", kernelAddr.String(), "dev", name)
	ns.IP("link", "set", name, "up")
	return ns, l
}

func kernelPing(t *testing.T, ns *netns.NS, size int) {
	t.Helper()
	args := []string{"-c", "3", "-W", "2", "-i", "0.2", "-n"}
	if size > 0 {
		args = append(args, "-s", strconv.Itoa(size), "-M", "dont")
	}
	args = append(args, stackAddr.Addr().String())
	out, err := ns.Command(20*time.Second, "ping", args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), " 0% packet loss") {
		t.Fatalf("kernel ping %v: %v\n%s", args, err, out)
	}
}

func stackPing(t *testing.T, s *ustack.Stack, size int) {
	t.Helper()
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := s.Ping(ctx, kernelAddr.Addr(), size)
		cancel()
		if err != nil {
			t.Fatalf("stack ping %d (%d bytes) to %s: %v", i+1, size, kernelAddr.Addr(), err)
		}
	}
}

func TestInteropPing(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []tap.Option
		mode shard.Mode
	}{
		{"plain", nil, shard.Adaptive},
		{"interrupt", nil, shard.Interrupt},
		{"vnet", []tap.Option{tap.WithVnetHdr()}, shard.Adaptive},
		{"offload", []tap.Option{tap.WithOffload(false)}, shard.Adaptive},
		{"multiqueue", []tap.Option{tap.WithMultiQueue()}, shard.Adaptive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns, l := openTAP(t, "tap0", append([]tap.Option{tap.WithPool(bigBufs)}, tc.opts...)...)
			s, err := ustack.New(ustack.Config{Link: l, Addr: stackAddr, Polling: tc.mode})
			if err != nil {
				t.Fatalf("ustack.New: %v", err)
			}
			defer s.Close()
			kernelPing(t, ns, 0)
			stackPing(t, s, 56)
			kernelPing(t, ns, 4000)
			stackPing(t, s, 4000)
			if st := l.Stats(); st.RxFrames == 0 || st.TxFrames == 0 || st.TxErrors != 0 || st.RxErrors != 0 {
				t.Errorf("stats after the pings: %+v", st)
			}
		})
	}
}
