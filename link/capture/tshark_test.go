package capture_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/capture"
	"github.com/ustack/ustack/wire"
)

// seg describes one TCP/IPv4 segment for the tshark test.
type seg struct {
	fromA        bool
	seq, ack     uint32
	flags        uint8 // FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10
	mss          uint16
	sackPerm     bool
	wscale       int // -1: none
	tsval, tsecr uint32
	hasTS        bool
	payload      string
	badSum       bool // corrupt the TCP checksum: tshark must notice
}

var (
	macA, macB   = [6]byte{2, 0, 0, 0, 0, 1}, [6]byte{2, 0, 0, 0, 0, 2}
	ipA, ipB     = [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	portA, portB = uint16(40000), uint16(80)
)

// buildFrame writes the Ethernet/IPv4/TCP frame for s into b, options in
// Linux's SYN order: MSS, SACK-permitted, timestamps, NOP, window scale.
func buildFrame(b *link.Buf, s seg, ipID uint16) {
	var opts []byte
	if s.mss != 0 {
		opts = append(opts, 2, 4, byte(s.mss>>8), byte(s.mss))
	}
	if s.sackPerm && s.hasTS {
		opts = append(opts, 4, 2) // SACK-permitted, then TS without padding
	} else if s.sackPerm {
		opts = append(opts, 1, 1, 4, 2)
	}
	if s.hasTS {
		if !s.sackPerm {
			opts = append(opts, 1, 1)
		}
		opts = append(opts, 8, 10)
		opts = binary.BigEndian.AppendUint32(opts, s.tsval)
		opts = binary.BigEndian.AppendUint32(opts, s.tsecr)
	}
	if s.wscale >= 0 {
		opts = append(opts, 1, 3, 3, byte(s.wscale))
	}
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	tcpLen := 20 + len(opts) + len(s.payload)
	d := b.Extend(14 + 20 + tcpLen)
	src, dst, smac, dmac, sport, dport := ipA, ipB, macA, macB, portA, portB
	if !s.fromA {
		src, dst, smac, dmac, sport, dport = ipB, ipA, macB, macA, portB, portA
	}
	copy(d[0:], dmac[:])
	copy(d[6:], smac[:])
	binary.BigEndian.PutUint16(d[12:], 0x0800)
	ip := d[14:34]
	ip[0], ip[1] = 0x45, 0
	binary.BigEndian.PutUint16(ip[2:], uint16(20+tcpLen))
	binary.BigEndian.PutUint16(ip[4:], ipID)
	binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF
	ip[8], ip[9] = 64, 6
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	binary.BigEndian.PutUint16(ip[10:], wire.Checksum(ip))
	tcp := d[34:]
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	binary.BigEndian.PutUint32(tcp[4:], s.seq)
	binary.BigEndian.PutUint32(tcp[8:], s.ack)
	tcp[12] = byte((20+len(opts))/4) << 4
	tcp[13] = s.flags
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	copy(tcp[20:], opts)
	copy(tcp[20+len(opts):], s.payload)
	sum := wire.Sum(tcp, wire.PseudoHeaderSum4(src, dst, 6, uint16(tcpLen)))
	binary.BigEndian.PutUint16(tcp[16:], wire.Fold(sum))
	if s.badSum {
		tcp[16] ^= 0x40
	}
}

// TestTshark writes a handshake and a data exchange in both directions and
// checks that Wireshark's dissector reads back every field, the direction
// of each frame and the nanosecond timestamps.
func TestTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tshark is required in CI: %v", err)
		}
		t.Skipf("tshark not on PATH (%v); install it (apt-get install tshark) to run this test", err)
	}
	segs := []seg{
		{fromA: true, seq: 1000, flags: 0x02, mss: 1460, sackPerm: true, wscale: 7, hasTS: true, tsval: 111},
		{fromA: false, seq: 5000, ack: 1001, flags: 0x12, mss: 1400, sackPerm: true, wscale: 9, hasTS: true, tsval: 222, tsecr: 111},
		{fromA: true, seq: 1001, ack: 5001, flags: 0x10, wscale: -1, hasTS: true, tsval: 112, tsecr: 222},
		{fromA: true, seq: 1001, ack: 5001, flags: 0x18, wscale: -1, hasTS: true, tsval: 113, tsecr: 222, payload: "hello, world"},
		{fromA: false, seq: 5001, ack: 1013, flags: 0x10, wscale: -1, hasTS: true, tsval: 223, tsecr: 113},
		{fromA: true, seq: 1013, ack: 5001, flags: 0x11, wscale: -1, hasTS: true, tsval: 114, tsecr: 223},
		{fromA: false, seq: 5001, ack: 1014, flags: 0x11, wscale: -1, hasTS: true, tsval: 224, tsecr: 114, badSum: true},
	}
	a, b := pair(t)
	path := filepath.Join(t.TempDir(), "tcp.pcapng")
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{}
	c, err := capture.New(a, file, capture.WithName("ust0"), capture.WithClock(clk.now), capture.WithCloseWriter())
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range segs {
		from, to := link.Link(c), link.Link(b)
		if !s.fromA {
			from, to = b, c
		}
		x := from.Pool().Get()
		buildFrame(x, s, uint16(i+1))
		if from.Send([]*link.Buf{x}) != 1 {
			t.Fatalf("segment %d refused", i)
		}
		got := recvAll(t, to)
		if len(got) != 1 {
			t.Fatalf("segment %d: %d frames arrived", i, len(got))
		}
		freeAll(got)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	fields := []string{"frame.number", "ip.src", "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw",
		"tcp.flags", "tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.timestamp.tsval",
		"tcp.options.timestamp.tsecr", "tcp.options.sack_perm", "tcp.len", "tcp.checksum.status", "ip.checksum.status",
		"frame.packet_flags_direction", "frame.time_epoch", "frame.interface_name", "frame.len", "frame.cap_len"}
	args := []string{"-r", path, "-T", "fields", "-E", "separator=/t", "-o", "tcp.check_checksum:TRUE",
		"-o", "ip.check_checksum:TRUE", "-o", "tcp.relative_sequence_numbers:FALSE"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	cmd := exec.Command(tshark, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(string(outb), "\n"), "\n")
	if len(lines) != len(segs) {
		t.Fatalf("tshark printed %d lines for %d frames:\n%s\n%s", len(lines), len(segs), outb, stderr.String())
	}
	for i, s := range segs {
		got := strings.Split(lines[i], "\t")
		if len(got) != len(fields) {
			t.Fatalf("line %d: %d fields, want %d: %q", i, len(got), len(fields), lines[i])
		}
		// epb_flags direction as tshark prints it: 1 inbound, 2 outbound.
		src, sport, dport, dir := "10.0.0.1", portA, portB, "0x00000002"
		if !s.fromA {
			src, sport, dport, dir = "10.0.0.2", portB, portA, "0x00000001"
		}
		opt := func(present bool, v any) string {
			if !present {
				return ""
			}
			return fmt.Sprint(v)
		}
		sack := ""
		if s.sackPerm {
			sack = "0402" // tshark 4 prints the option's bytes for this field
		}
		// Checksum status: 1 good, 0 bad (Wireshark's proto.h).
		tcpSum := "1"
		if s.badSum {
			tcpSum = "0"
		}
		frameLen := 14 + 20 + 20 + len(s.payload)
		if s.mss != 0 {
			frameLen += 20
		} else {
			frameLen += 12
		}
		want := []string{
			fmt.Sprint(i + 1), src, fmt.Sprint(sport), fmt.Sprint(dport), fmt.Sprint(s.seq), fmt.Sprint(s.ack),
			fmt.Sprintf("0x%04x", s.flags), opt(s.mss != 0, s.mss), opt(s.wscale >= 0, s.wscale),
			fmt.Sprint(s.tsval), fmt.Sprint(s.tsecr), sack, fmt.Sprint(len(s.payload)), tcpSum, "1",
			dir, fmt.Sprintf("%d.%09d", epoch.Unix(), (epoch.UnixNano()+int64(i)*1001)%1e9), "ust0",
			fmt.Sprint(frameLen), fmt.Sprint(frameLen),
		}
		for k := range fields {
			if got[k] != want[k] {
				t.Errorf("frame %d %s = %q, want %q", i+1, fields[k], got[k], want[k])
			}
		}
	}
	if t.Failed() {
		t.Logf("tshark output:\n%s", outb)
	}
}
