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
func needRoot(t testing.TB) {
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
	other  = netip.MustParseAddr("10.9.0.3")
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
	if err := o.AddAddr(ours, RuleAll); err != nil {
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
	if err := o.AddAddr(ours, 7); err == nil {
		t.Fatal("AddAddr with an unknown rule succeeded")
	}
	if err := o.AddPort(ProtoICMP, 1); err == nil {
		t.Fatal("AddPort for ICMP succeeded")
	}
	if err := o.AddAddr(v6, RuleAll); err == nil {
		t.Fatal("AddAddr(IPv6) succeeded")
	}
	if err := o.RemoveAddr(ours); err == nil || !errors.Is(err, ebpf.ErrKeyNotExist) {
		t.Fatalf("RemoveAddr of an absent address: %v, want ErrKeyNotExist", err)
	}
}

// l4Packet is an IPv4 packet to dst with an IHL of ihl words (options
// zero-filled), the given flags/fragment-offset field and L4 bytes.
func l4Packet(dst netip.Addr, proto byte, ihl int, frag uint16, l4 []byte) []byte {
	h := make([]byte, ihl*4, ihl*4+len(l4))
	h[0] = 4<<4 | byte(ihl)
	binary.BigEndian.PutUint16(h[2:], uint16(ihl*4+len(l4)))
	binary.BigEndian.PutUint16(h[6:], frag)
	h[8], h[9] = 64, proto
	copy(h[12:16], theirs.AsSlice())
	copy(h[16:20], dst.AsSlice())
	return append(h, l4...)
}

func ports(src, dst uint16, n int) []byte {
	b := make([]byte, n)
	binary.BigEndian.PutUint16(b[0:], src)
	binary.BigEndian.PutUint16(b[2:], dst)
	return b
}

// TestPortRules: a RulePorts address steers only the listed TCP and UDP
// ports, plus ICMP, fragments and ARP.
func TestPortRules(t *testing.T) {
	needRoot(t)
	o, err := Load(Config{Queues: 1, Fallback: Aborted})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.AddAddr(ours, RulePorts); err != nil {
		t.Fatal(err)
	}
	if err := o.AddAddr(theirs, RuleAll); err != nil {
		t.Fatal(err)
	}
	for _, pp := range []struct {
		proto uint8
		port  uint16
	}{{ProtoTCP, 80}, {ProtoUDP, 53}, {ProtoTCP, 0xff01}} {
		if err := o.AddPort(pp.proto, pp.port); err != nil {
			t.Fatal(err)
		}
	}
	const redirected = Aborted
	cases := []struct {
		name  string
		frame []byte
		want  uint32
	}{
		{"tcp 80", ethFrame(0x0800, l4Packet(ours, ProtoTCP, 5, 0, ports(1234, 80, 20))), redirected},
		{"tcp 0xff01 (high byte set)", ethFrame(0x0800, l4Packet(ours, ProtoTCP, 5, 0, ports(1234, 0xff01, 20))), redirected},
		{"tcp 80 behind IP options", ethFrame(0x0800, l4Packet(ours, ProtoTCP, 15, 0, ports(1234, 80, 20))), redirected},
		{"tcp 22", ethFrame(0x0800, l4Packet(ours, ProtoTCP, 5, 0, ports(1234, 22, 20))), Pass},
		{"tcp 53 (listed for udp only)", ethFrame(0x0800, l4Packet(ours, ProtoTCP, 5, 0, ports(1234, 53, 20))), Pass},
		{"udp 53", ethFrame(0x0800, l4Packet(ours, ProtoUDP, 5, 0, ports(1234, 53, 8))), redirected},
		{"udp 80 (listed for tcp only)", ethFrame(0x0800, l4Packet(ours, ProtoUDP, 5, 0, ports(1234, 80, 8))), Pass},
		{"icmp", ethFrame(0x0800, l4Packet(ours, ProtoICMP, 5, 0, make([]byte, 8))), redirected},
		{"gre", ethFrame(0x0800, l4Packet(ours, 47, 5, 0, make([]byte, 8))), Pass},
		{"first fragment of tcp 22", ethFrame(0x0800, l4Packet(ours, ProtoTCP, 5, 0x2000, ports(1234, 22, 20))), redirected},
		{"later fragment", ethFrame(0x0800, l4Packet(ours, ProtoTCP, 5, 0x0010, make([]byte, 8))), redirected},
		{"DF set, tcp 80", ethFrame(0x0800, l4Packet(ours, ProtoTCP, 5, 0x4000, ports(1234, 80, 20))), redirected},
		{"DF set, tcp 22", ethFrame(0x0800, l4Packet(ours, ProtoTCP, 5, 0x4000, ports(1234, 22, 20))), Pass},
		{"tcp ports truncated", ethFrame(0x0800, l4Packet(ours, ProtoTCP, 5, 0, ports(1234, 80, 20)[:3])), Pass},
		{"IHL past the end", ethFrame(0x0800, l4Packet(ours, ProtoTCP, 15, 0, nil)), Pass},
		{"arp", ethFrame(0x0806, arp(1, ours, 1, 0x0800)), redirected},
		{"RuleAll address, tcp 22", ethFrame(0x0800, l4Packet(theirs, ProtoTCP, 5, 0, ports(1234, 22, 20))), redirected},
	}
	bad := l4Packet(ours, ProtoTCP, 5, 0, ports(1234, 80, 20))
	bad[0] = 4<<4 | 3 // IHL 3
	cases = append(cases, struct {
		name  string
		frame []byte
		want  uint32
	}{"IHL 3", ethFrame(0x0800, bad), Pass})
	for _, c := range cases {
		got, err := o.Program.Run(&ebpf.RunOptions{Data: c.frame})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: verdict %d, want %d", c.name, got, c.want)
		}
	}
	if err := o.RemovePort(ProtoTCP, 80); err != nil {
		t.Fatal(err)
	}
	got, _ := o.Program.Run(&ebpf.RunOptions{Data: ethFrame(0x0800, l4Packet(ours, ProtoTCP, 5, 0, ports(1234, 80, 20)))})
	if got != Pass {
		t.Errorf("tcp 80 after RemovePort: verdict %d, want pass", got)
	}
}
