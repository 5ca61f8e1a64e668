package afpacket_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/internal/netns"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/afpacket"
	"github.com/ustack/ustack/shard"
)

var (
	kernelAddr = netip.MustParsePrefix("10.77.0.1/24")
	stackAddr  = netip.MustParsePrefix("10.77.0.2/24")
)

// world is two namespaces joined by a veth pair: the stack's end u0 has
// no address (the stack owns 10.77.0.2), the kernel's end k0 has 10.77.0.1.
type world struct {
	env            *netns.Env
	stack, kernel  *netns.NS
	stackIf, kerIf string
}

func newWorld(t testing.TB) *world {
	netns.Require(t, "ping")
	e := netns.New(t)
	w := &world{env: e, stack: e.NS(), kernel: e.NS(), stackIf: "u0", kerIf: "k0"}
	e.Veth(w.stack, w.stackIf, w.kernel, w.kerIf)
	w.kernel.IP("addr", "add", kernelAddr.String(), "dev", w.kerIf)
	return w
}

func (w *world) open(t testing.TB, ns *netns.NS, iface string, opts ...afpacket.Option) *afpacket.Link {
	t.Helper()
	var l *afpacket.Link
	err := ns.Do(func() (err error) {
		l, err = afpacket.Open(iface, opts...)
		return err
	})
	if err != nil {
		t.Fatalf("afpacket.Open(%s): %v", iface, err)
	}
	return l
}

func (w *world) newStack(t *testing.T, l link.Link, mode shard.Mode) *ustack.Stack {
	t.Helper()
	s, err := ustack.New(ustack.Config{Link: l, Addr: stackAddr, Polling: mode})
	if err != nil {
		l.Close()
		t.Fatalf("ustack.New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// kernelPing runs iputils ping in the kernel namespace and requires every
// request answered.
func (w *world) kernelPing(t *testing.T, size int) {
	t.Helper()
	args := []string{"-c", "3", "-W", "2", "-i", "0.2", "-n"}
	if size > 0 {
		args = append(args, "-s", itoa(size), "-M", "dont")
	}
	args = append(args, stackAddr.Addr().String())
	out, err := w.kernel.Command(20*time.Second, "ping", args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), " 0% packet loss") {
		t.Fatalf("kernel ping %v: %v\n%s", args, err, out)
	}
	t.Logf("kernel ping:\n%s", out)
}

// stackPing has the stack ping the kernel's address three times.
func stackPing(t *testing.T, s *ustack.Stack, size int) {
	t.Helper()
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		rtt, err := s.Ping(ctx, kernelAddr.Addr(), size)
		cancel()
		if err != nil {
			t.Fatalf("stack ping %d (%d bytes) to %s: %v", i+1, size, kernelAddr.Addr(), err)
		}
		t.Logf("stack ping %d: %d bytes, rtt %v", i+1, size, rtt)
	}
}

// bigBufs holds a reassembled 4000-byte ping.
var bigBufs = link.PoolConfig{Count: 1024, Size: 8192}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

func TestInteropPing(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []afpacket.Option
		mode shard.Mode
	}{
		{"v2", nil, shard.Adaptive},
		{"v2-interrupt-bypass", []afpacket.Option{afpacket.WithQdiscBypass()}, shard.Interrupt},
		{"v2-vnet", []afpacket.Option{afpacket.WithVnetHdr()}, shard.Adaptive},
		{"v3", []afpacket.Option{afpacket.WithV3(time.Millisecond)}, shard.Adaptive},
		{"v3-interrupt", []afpacket.Option{afpacket.WithV3(2 * time.Millisecond)}, shard.Interrupt},
		{"fanout", []afpacket.Option{afpacket.WithFanout(7)}, shard.Adaptive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			// The stack reassembles into the first fragment's buffer, so
			// 4000-byte datagrams need buffers larger than a frame.
			opts := append([]afpacket.Option{afpacket.WithPool(bigBufs)}, tc.opts...)
			l := w.open(t, w.stack, w.stackIf, opts...)
			s := w.newStack(t, l, tc.mode)
			w.kernelPing(t, 0)
			stackPing(t, s, 56)
			// Large datagrams, fragmented both ways.
			w.kernelPing(t, 4000)
			stackPing(t, s, 4000)
			st := l.Stats()
			if st.RxFrames == 0 || st.TxFrames == 0 || st.TxErrors != 0 {
				t.Errorf("stats after the pings: %+v", st)
			}
		})
	}
}
