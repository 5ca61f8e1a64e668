package prog

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"
)

// refVerdict is the steering rule written the obvious way, in Go, over a
// byte slice: the reference the BPF program is checked against. redirect
// is the verdict for "into the socket".
func refVerdict(f []byte, rules map[[4]byte]uint32, ports map[[4]byte]bool, redirect uint32) uint32 {
	if len(f) < 14 {
		return Pass
	}
	var dst [4]byte
	isIP := false
	switch binary.BigEndian.Uint16(f[12:14]) {
	case 0x0800:
		ip := f[14:]
		if len(ip) < 20 || ip[0]>>4 != 4 {
			return Pass
		}
		copy(dst[:], ip[16:20])
		isIP = true
	case 0x0806:
		a := f[14:]
		if len(a) < 28 || binary.BigEndian.Uint16(a[0:2]) != 1 || binary.BigEndian.Uint16(a[2:4]) != 0x0800 {
			return Pass
		}
		copy(dst[:], a[24:28])
	default:
		return Pass
	}
	rule, ok := rules[dst]
	if !ok {
		return Pass
	}
	if rule&RulePorts == 0 || !isIP {
		return redirect
	}
	ip := f[14:]
	proto := ip[9]
	if proto == ProtoICMP {
		return redirect
	}
	if binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 {
		return redirect
	}
	if proto != ProtoTCP && proto != ProtoUDP {
		return Pass
	}
	ihl := int(ip[0]&0x0f) * 4
	if ihl < 20 || len(ip) < ihl+4 {
		return Pass
	}
	key := [4]byte{proto, 0, ip[ihl+2], ip[ihl+3]}
	if ports[key] {
		return redirect
	}
	return Pass
}

// FuzzProgramAgainstReference runs the BPF program and the reference on
// the same frames (the seeds in every go test run with root).
func FuzzProgramAgainstReference(f *testing.F) {
	ip := l4Packet(ours, ProtoTCP, 5, 0, ports(1, 80, 20))
	for _, s := range [][]byte{
		ethFrame(0x0800, ip),
		ethFrame(0x0800, l4Packet(ours, ProtoTCP, 15, 0, ports(1, 80, 20))),
		ethFrame(0x0800, l4Packet(ours, ProtoUDP, 6, 0, ports(1, 53, 8))),
		ethFrame(0x0800, l4Packet(ours, ProtoUDP, 5, 0x2000, ports(1, 9, 8))),
		ethFrame(0x0800, l4Packet(ours, ProtoICMP, 5, 0, make([]byte, 8))),
		ethFrame(0x0800, l4Packet(theirs, ProtoTCP, 5, 0, ports(1, 22, 20))),
		ethFrame(0x0800, l4Packet(other, ProtoTCP, 5, 0, ports(1, 80, 20))),
		ethFrame(0x0806, arp(1, ours, 1, 0x0800)),
		ethFrame(0x0806, arp(2, theirs, 1, 0x0800)),
		ethFrame(0x86dd, make([]byte, 40)),
		ethFrame(0x0800, ip[:21]),
	} {
		f.Add(s)
	}
	needRoot(f)
	o, err := Load(Config{Queues: 1, Fallback: Aborted})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { o.Close() })
	rules := map[[4]byte]uint32{ours.As4(): RulePorts, theirs.As4(): RuleAll}
	portSet := map[[4]byte]bool{{ProtoTCP, 0, 0, 80}: true, {ProtoUDP, 0, 0, 53}: true}
	for a, r := range rules {
		if err := o.AddAddr(netip.AddrFrom4(a), r); err != nil {
			f.Fatal(err)
		}
	}
	for k := range portSet {
		if err := o.AddPort(k[0], uint16(k[2])<<8|uint16(k[3])); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) < 14 || len(frame) > 1500 {
			return // BPF_PROG_TEST_RUN needs an Ethernet header; an MTU bounds the rest
		}
		got, err := o.Program.Run(&ebpf.RunOptions{Data: frame})
		if err != nil {
			t.Fatal(err)
		}
		if want := refVerdict(frame, rules, portSet, Aborted); got != want {
			t.Fatalf("frame %x: program says %d, reference %d", frame, got, want)
		}
	})
}
