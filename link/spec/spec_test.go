package spec_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ustack/ustack/internal/netns"
	"github.com/ustack/ustack/link/spec"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want spec.Spec
	}{
		{"mem", spec.Spec{Kind: spec.Mem}},
		{"tap:tap0", spec.Spec{Kind: spec.TAP, Name: "tap0"}},
		{"afpacket:eth0", spec.Spec{Kind: spec.AFPacket, Name: "eth0"}},
		{"afpacket:enp0s31f6.100", spec.Spec{Kind: spec.AFPacket, Name: "enp0s31f6.100"}},
		{"afxdp:eth1", spec.Spec{Kind: spec.AFXDP, Name: "eth1"}},
		{"afxdp:eth1:3", spec.Spec{Kind: spec.AFXDP, Name: "eth1", Queue: 3}},
		{"afxdp:eth1:0", spec.Spec{Kind: spec.AFXDP, Name: "eth1"}},
		{"afxdp:eth1:65535", spec.Spec{Kind: spec.AFXDP, Name: "eth1", Queue: 65535}},
		{"tap:" + strings.Repeat("x", 15), spec.Spec{Kind: spec.TAP, Name: strings.Repeat("x", 15)}},
	} {
		got, err := spec.Parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		// String gives back a form Parse reads as the same spec.
		again, err := spec.Parse(got.String())
		if err != nil || again != got {
			t.Errorf("Parse(%q.String() = %q) = %+v, %v", tc.in, got.String(), again, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, why string }{
		{"", "empty link kind"},
		{"eth0", `unknown link kind "eth0"`},
		{"xdp:eth0", `unknown link kind "xdp"`},
		{"TAP:tap0", "unknown link kind"},
		{"mem:x", "takes no argument"},
		{"tap", "needs an interface name"},
		{"tap:", "needs an interface name"},
		{"afpacket:", "needs an interface name"},
		{"afxdp", "needs an interface name"},
		{"afxdp::1", "needs an interface name"},
		{"tap:" + strings.Repeat("x", 16), "longer than 15"},
		{"afpacket:a/b", "contains '/'"},
		{"afpacket:eth0:1", "one argument"},
		{"afxdp:eth0:", "queue"},
		{"afxdp:eth0:-1", "queue"},
		{"afxdp:eth0:+1", "queue"},
		{"afxdp:eth0:-0", "queue"},
		{"afxdp:eth0:65536", "queue"},
		{"afxdp:eth0:one", "queue"},
		{"afxdp:eth0:1:2", "queue"},
	} {
		_, err := spec.Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", tc.in)
			continue
		}
		if !errors.Is(err, spec.ErrSyntax) || !strings.Contains(err.Error(), tc.why) || !strings.Contains(err.Error(), spec.Forms) {
			t.Errorf("Parse(%q): %v; want ErrSyntax, %q and the accepted forms", tc.in, err, tc.why)
		}
	}
}

// AF_XDP steers by address, so opening it without the stack's address is
// refused before anything is touched.
func TestOpenAFXDPNeedsAddrs(t *testing.T) {
	_, err := spec.Open(spec.Spec{Kind: spec.AFXDP, Name: "eth0"})
	if !errors.Is(err, spec.ErrUnsupported) || !strings.Contains(err.Error(), "address") {
		t.Fatalf("Open(afxdp) without Addrs: %v; want ErrUnsupported naming the address", err)
	}
	if _, err := spec.Open(spec.Spec{Kind: "bogus"}); !errors.Is(err, spec.ErrSyntax) {
		t.Fatalf("Open(bogus kind): %v", err)
	}
}

func TestOpenMem(t *testing.T) {
	l, err := spec.Open(spec.Spec{Kind: spec.Mem})
	if err != nil || l.MTU() != 1500 {
		t.Fatalf("Open(mem): %v", err)
	}
	l.Close()
}

func TestOpenRealLinks(t *testing.T) {
	netns.Require(t)
	e := netns.New(t)
	a, b := e.NS(), e.NS()
	e.Veth(a, "v0", b, "v1")
	err := a.Do(func() error {
		for _, s := range []string{"tap:tap7", "afpacket:v0"} {
			sp, err := spec.Parse(s)
			if err != nil {
				return err
			}
			l, err := spec.Open(sp)
			if err != nil {
				return err
			}
			if l.Fd() < 0 || l.MTU() != 1500 {
				t.Errorf("%s: fd %d MTU %d", s, l.Fd(), l.MTU())
			}
			l.Close()
		}
		_, err := spec.Open(spec.Spec{Kind: spec.AFPacket, Name: "nosuch"})
		if err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("Open(afpacket:nosuch): %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"mem", "tap:x", "afpacket:eth0", "afxdp:eth0:7", "afxdp::", ":", "a:b:c:d", "afxdp:e:-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := spec.Parse(s)
		if err != nil {
			if !errors.Is(err, spec.ErrSyntax) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrSyntax", s, err)
			}
			return
		}
		again, err := spec.Parse(sp.String())
		if err != nil || again != sp {
			t.Fatalf("Parse(%q) = %+v; its String %q parses as %+v, %v", s, sp, sp.String(), again, err)
		}
	})
}
