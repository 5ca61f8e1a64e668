package prog

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"testing"

	"github.com/cilium/ebpf"
)

// needRoot skips without root, unless CI=true, where it fails.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("loading XDP programs needs root (CAP_BPF); CI=true so this fails instead of skipping")
	}
	t.Skip("loading XDP programs needs root (CAP_BPF)")
}

var (
	ours   = netip.MustParseAddr("10.9.0.1")
	theirs = netip.MustParseAddr("10.9.0.2")
)

func ethFrame(etherType uint16, payload []byte) []byte {
	f := make([]byte, 14, 14+len(payload))
	copy(f[0:6], []byte{2, 0, 0, 0, 0, 1})
	copy(f[6:12], []byte{2, 0, 0, 0, 0, 2})
	binary.BigEndian.PutUint16(f[12:], etherType)
	return append(f, payload...)
}

func ipv4(dst netip.Addr, version byte) []byte {
	h := make([]byte, 20+8)
	h[0] = version<<4 | 5
	binary.BigEndian.PutUint16(h[2:], uint16(len(h)))
	h[8] = 64
	h[9] = 1 // ICMP
	copy(h[12:16], theirs.AsSlice())
	copy(h[16:20], dst.AsSlice())
	return h
}

func arp(op uint16, tpa netip.Addr, htype, ptype uint16) []byte {
	a := make([]byte, 28)
	binary.BigEndian.PutUint16(a[0:], htype)
	binary.BigEndian.PutUint16(a[2:], ptype)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], op)
	copy(a[14:18], theirs.AsSlice())
	copy(a[24:28], tpa.AsSlice())
	return a
}

// TestVerdicts runs the program on crafted frames with BPF_PROG_TEST_RUN.
// No socket is registered, so a frame the program redirects gets the
// fallback verdict, which is Aborted here to tell it from Pass.
func TestVerdicts(t *testing.T) {
	needRoot(t)
	o, err := Load(Config{Queues: 1, Fallback: Aborted})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.AddAddr(ours); err != nil {
		t.Fatal(err)
	}
	const redirected = Aborted
	ip := ipv4(ours, 4)
	cases := []struct {
		name  string
		frame []byte
		want  uint32
	}{
		{"ipv4 to us", ethFrame(0x0800, ip), redirected},
		{"ipv4 to someone else", ethFrame(0x0800, ipv4(theirs, 4)), Pass},
		{"ipv4 version 6 in the header", ethFrame(0x0800, ipv4(ours, 6)), Pass},
		{"ipv4 truncated header", ethFrame(0x0800, ip[:19]), Pass},
		{"arp request for us", ethFrame(0x0806, arp(1, ours, 1, 0x0800)), redirected},
		{"arp reply to us", ethFrame(0x0806, arp(2, ours, 1, 0x0800)), redirected},
		{"arp for someone else", ethFrame(0x0806, arp(1, theirs, 1, 0x0800)), Pass},
		{"arp not ethernet", ethFrame(0x0806, arp(1, ours, 6, 0x0800)), Pass},
		{"arp not ipv4", ethFrame(0x0806, arp(1, ours, 1, 0x86dd)), Pass},
		{"arp truncated", ethFrame(0x0806, arp(1, ours, 1, 0x0800)[:27]), Pass},
		{"ipv6", ethFrame(0x86dd, make([]byte, 40)), Pass},
		{"vlan tagged", ethFrame(0x8100, append([]byte{0, 1, 8, 0}, ip...)), Pass},
		{"bare ethernet header", ethFrame(0x0800, nil), Pass},
	}
	for _, c := range cases {
		got, err := o.Program.Run(&ebpf.RunOptions{Data: c.frame})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: verdict %d, want %d", c.name, got, c.want)
		}
	}

	// Removing the address sends its traffic back to the kernel.
	if err := o.RemoveAddr(ours); err != nil {
		t.Fatal(err)
	}
	got, err := o.Program.Run(&ebpf.RunOptions{Data: ethFrame(0x0800, ip)})
	if err != nil || got != Pass {
		t.Fatalf("after RemoveAddr: verdict %d, %v; want pass", got, err)
	}
}

func TestLoadRejectsBadConfig(t *testing.T) {
	for _, c := range []Config{{Queues: 0}, {Queues: 1 << 17}, {Queues: 1, MaxRules: -1}, {Queues: 1, Fallback: Redirect}} {
		if _, err := Load(c); err == nil {
			t.Errorf("Load(%+v) succeeded", c)
		}
	}
}

func TestAddrMustBeIPv4(t *testing.T) {
	needRoot(t)
	o, err := Load(Config{Queues: 1, Fallback: Pass})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	v6 := netip.MustParseAddr("fd00::1")
	if err := o.AddAddr(v6); err == nil {
		t.Fatal("AddAddr(IPv6) succeeded")
	}
	if err := o.RemoveAddr(ours); err == nil || !errors.Is(err, ebpf.ErrKeyNotExist) {
		t.Fatalf("RemoveAddr of an absent address: %v, want ErrKeyNotExist", err)
	}
}
