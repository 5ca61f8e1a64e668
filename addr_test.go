package ustack

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
)

func TestParseAddrPort(t *testing.T) {
	good := map[string]string{
		"":                     "0.0.0.0:0",
		":0":                   "0.0.0.0:0",
		":53":                  "0.0.0.0:53",
		"10.0.0.1:65535":       "10.0.0.1:65535",
		"0.0.0.0:1":            "0.0.0.0:1",
		"[::ffff:10.0.0.1]:80": "10.0.0.1:80",
		"10.0.0.1:":            "10.0.0.1:0",
	}
	for in, want := range good {
		got, err := parseAddrPort(in)
		if err != nil || got.String() != want {
			t.Errorf("parseAddrPort(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"10.0.0.1", "10.0.0.1:x", "10.0.0.1:65536", "host:1", "1.2.3:4", ":+5", "[fe80::1%lo]:1", "10.0.0.1:1:2"} {
		_, err := parseAddrPort(in)
		var ae *net.AddrError
		if !errors.As(err, &ae) {
			t.Errorf("parseAddrPort(%q) = %v, want a *net.AddrError", in, err)
		}
	}
	if _, err := parseAddrPort("[2001:db8::1]:53"); !errors.Is(err, syscall.EAFNOSUPPORT) {
		t.Errorf("IPv6: %v", err)
	}
}

func TestCheckDest(t *testing.T) {
	if _, err := checkDest(netip.AddrPort{}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("zero AddrPort: %v", err)
	}
	if got, err := checkDest(netip.MustParseAddrPort("[::ffff:1.2.3.4]:5")); err != nil || got.String() != "1.2.3.4:5" {
		t.Errorf("mapped: %v %v", got, err)
	}
	if _, err := addrPortOf((*net.UDPAddr)(nil)); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("nil *UDPAddr: %v", err)
	}
	if _, err := addrPortOf(&net.UDPAddr{Port: 5}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("UDPAddr without IP: %v", err)
	}
}

func TestErrnoMapping(t *testing.T) {
	err := withErrno(errors.New("plain"))
	var en syscall.Errno
	if errors.As(err, &en) {
		t.Fatalf("unrelated error gained errno %v", en)
	}
	if withErrno(nil) != nil {
		t.Fatal("withErrno(nil) != nil")
	}
	twice := withErrno(withErrno(errIPv6))
	if !errors.Is(twice, syscall.EAFNOSUPPORT) || twice != errIPv6 {
		t.Fatalf("an error that already has an errno was rewrapped: %v", twice)
	}
}

// FuzzParseAddrPort: no panic; anything accepted is IPv4 and prints back
// to something that parses to the same value.
func FuzzParseAddrPort(f *testing.F) {
	for _, s := range []string{"", ":0", "10.0.0.1:53", "[::ffff:1.2.3.4]:9", "a:b", "[::1]:1", "1.2.3.4:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ap, err := parseAddrPort(s)
		if err != nil {
			return
		}
		if !ap.Addr().Is4() {
			t.Fatalf("%q gave non-IPv4 %v", s, ap)
		}
		again, err := parseAddrPort(ap.String())
		if err != nil || again != ap {
			t.Fatalf("%q -> %v -> %v, %v", s, ap, again, err)
		}
	})
}
