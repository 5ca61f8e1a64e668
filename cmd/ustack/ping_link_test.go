package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ustack/ustack/internal/netns"
)

func TestPingLinkFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ping", "--link", "bogus:x", "--addr", "10.1.0.2/24", "10.1.0.1"}, 2, "accepted forms"},
		{[]string{"ping", "--link", "tap:", "--addr", "10.1.0.2/24", "10.1.0.1"}, 2, "needs an interface name"},
		{[]string{"ping", "--link", "afxdp:eth0:x", "--addr", "10.1.0.2/24", "10.1.0.1"}, 2, "queue"},
		{[]string{"ping", "--link", "tap:t0", "10.1.0.1"}, 2, "needs --addr CIDR"},
		{[]string{"ping", "--link", "tap:t0", "--addr", "10.1.0.2", "10.1.0.1"}, 2, "prefix length"},
		{[]string{"ping", "--link", "tap:t0", "--addr", "10.1.0.2/24"}, 2, "needs a TARGET"},
		{[]string{"ping", "--link", "tap:t0", "--addr", "10.1.0.2/24", "10.1.0.1", "10.1.0.3"}, 2, "one TARGET only"},
		{[]string{"ping", "--link", "tap:t0", "--addr", "10.1.0.2/24", "nothost"}, 2, "not an IPv4 address"},
		{[]string{"ping", "--link", "tap:t0", "--addr", "10.1.0.2/24", "192.0.2.1"}, 2, "give --gw"},
		{[]string{"ping", "--link", "tap:t0", "--addr", "10.1.0.2/24", "--gw", "10.2.0.1", "192.0.2.1"}, 2, "not inside"},
		{[]string{"ping", "--addr", "10.1.0.2/24"}, 2, "need --link"},
		{[]string{"ping", "10.1.0.1"}, 2, "needs --link SPEC --addr CIDR"},
		{[]string{"ping", "--link", "afxdp:nosuch0", "--addr", "10.1.0.2/24", "10.1.0.1"}, 1, "no such network interface"},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args[1:], code, errb.String(), tc.code, tc.want)
		}
	}
}

// TestPingLinkMemIsTheDemo: --link mem keeps the two-stack demo.
func TestPingLinkMemIsTheDemo(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"ping", "--link", "mem", "-c", "2"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "2 packets transmitted, 2 received, 0% packet loss") {
		t.Fatalf("output:\n%s", out.String())
	}
}

// TestPingLinkKernel pings the Linux kernel in a network namespace from a
// stack on AF_PACKET (a veth pair) and on TAP (the kernel side of the
// device), as a user would from the command line.
func TestPingLinkKernel(t *testing.T) {
	netns.Require(t)
	t.Run("afpacket", func(t *testing.T) {
		e := netns.New(t)
		us, kern := e.NS(), e.NS()
		e.Veth(us, "u0", kern, "k0")
		kern.IP("addr", "add", "10.78.0.1/24", "dev", "k0")
		pingFrom(t, us, "afpacket:u0", "10.78.0.2/24", "10.78.0.1", "1000")
		pingFrom(t, us, "afpacket:u0", "10.78.0.2/24", "10.78.0.1", "4000") // fragmented both ways
	})
	t.Run("afxdp", func(t *testing.T) {
		e := netns.New(t)
		us, kern := e.NS(), e.NS()
		e.Veth(us, "u0", kern, "k0")
		kern.IP("addr", "add", "10.78.3.1/24", "dev", "k0")
		pingFrom(t, us, "afxdp:u0", "10.78.3.2/24", "10.78.3.1", "1000")
		pingFrom(t, us, "afxdp:u0", "10.78.3.2/24", "10.78.3.1", "4000")
	})
	t.Run("tap", func(t *testing.T) {
		ns := netns.New(t).NS()
		ns.IP("tuntap", "add", "dev", "tap0", "mode", "tap")
		ns.IP("addr", "add", "10.78.1.1/24", "dev", "tap0")
		ns.IP("link", "set", "tap0", "up")
		pingFrom(t, ns, "tap:tap0", "10.78.1.2/24", "10.78.1.1", "1000")
		pingFrom(t, ns, "tap:tap0", "10.78.1.2/24", "10.78.1.1", "4000")
	})
	t.Run("tap-down-hint", func(t *testing.T) {
		ns := netns.New(t).NS()
		var out, errb bytes.Buffer
		code := 0
		ns.Do(func() error {
			code = run([]string{"ping", "--link", "tap:tap9", "--addr", "10.78.2.2/24", "-c", "1", "-W", "300ms", "10.78.2.1"}, &out, &errb)
			return nil
		})
		if code != 1 || !strings.Contains(errb.String(), "ip link set tap9 up") {
			t.Fatalf("exit %d, stderr %q; want 1 and a hint to bring tap9 up", code, errb.String())
		}
	})
}

func pingFrom(t *testing.T, ns *netns.NS, linkSpec, addr, target, size string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := 0
	err := ns.Do(func() error {
		code = run([]string{"ping", "--link", linkSpec, "--addr", addr, "-c", "3", "-s", size, "-W", "2s", target}, &out, &errb)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 || !strings.Contains(out.String(), "3 packets transmitted, 3 received, 0% packet loss") {
		t.Fatalf("ustack ping --link %s: exit %d\nstdout:\n%s\nstderr:\n%s", linkSpec, code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "over "+linkSpec) {
		t.Errorf("output does not name the link:\n%s", out.String())
	}
}
