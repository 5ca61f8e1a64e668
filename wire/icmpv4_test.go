package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

func TestICMPv4EchoKnown(t *testing.T) {
	// Echo request id 0x1234 seq 1 carrying "abcd": the checksum is the
	// complement of 0800+0000+1234+0001+6162+6364 = 0xdefb, 0x2104.
	want := []byte{8, 0, 0x21, 0x04, 0x12, 0x34, 0x00, 0x01, 'a', 'b', 'c', 'd'}
	b := make([]byte, 64)
	n, err := PutICMPv4Echo(b, ICMPv4Echo, 0x1234, 1, []byte("abcd"))
	if err != nil || n != len(want) || !bytes.Equal(b[:n], want) {
		t.Fatalf("PutICMPv4Echo = %d, %v\n% x\nwant\n% x", n, err, b[:n], want)
	}
	m, err := ParseICMPv4(b[:n])
	if err != nil {
		t.Fatal(err)
	}
	checkICMPv4(t, m)
	if m.Type() != ICMPv4Echo || m.Code() != 0 || m.ID() != 0x1234 || m.Seq() != 1 || m.Checksum() != 0x2104 ||
		string(m.Body()) != "abcd" || !m.ChecksumValid() || m.IsError() {
		t.Fatalf("fields %d %d %#x %d %#x %q", m.Type(), m.Code(), m.ID(), m.Seq(), m.Checksum(), m.Body())
	}

	// Turn it into the reply in place, as an echo responder does; an
	// incremental update of the type/code word agrees with recomputation.
	inc := UpdateChecksum16(m.Checksum(), uint16(ICMPv4Echo)<<8, uint16(ICMPv4EchoReply)<<8)
	m.SetType(ICMPv4EchoReply)
	if m.ChecksumValid() {
		t.Fatal("checksum valid after type change")
	}
	m.SetChecksum()
	if !m.ChecksumValid() || m.Checksum() != inc || m.Type() != ICMPv4EchoReply {
		t.Fatalf("reply checksum %#04x, incremental %#04x", m.Checksum(), inc)
	}
}

func TestParseICMPv4Truncated(t *testing.T) {
	b := []byte{8, 0, 0, 0, 0, 0, 0, 0}
	for n := 0; n < len(b); n++ {
		if _, err := ParseICMPv4(b[:n]); !errors.Is(err, ErrTruncated) {
			t.Errorf("len %d: err = %v", n, err)
		}
	}
	if m, err := ParseICMPv4(b); err != nil || len(m.Body()) != 0 {
		t.Fatalf("8 bytes: %v, body %d", err, len(m.Body()))
	}
}

func TestPutICMPv4EchoErrors(t *testing.T) {
	b := make([]byte, 12)
	if _, err := PutICMPv4Echo(b, ICMPv4DestUnreach, 1, 1, nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("type 3: %v", err)
	}
	if _, err := PutICMPv4Echo(b, ICMPv4Echo, 1, 1, make([]byte, 5)); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("data too long: %v", err)
	}
	if _, err := PutICMPv4Echo(b[:7], ICMPv4EchoReply, 1, 1, nil); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("7-byte buffer: %v", err)
	}
	// Data already in place after the header (a reply built over the
	// request) is kept.
	copy(b[8:], "ping")
	if n, err := PutICMPv4Echo(b, ICMPv4EchoReply, 7, 9, b[8:12]); err != nil || string(b[8:n]) != "ping" || !ICMPv4(b).ChecksumValid() {
		t.Fatalf("in place: %d %v %q", n, err, b[8:])
	}
}

// icmpOrig is an IPv4/UDP datagram of total length n (at least 28), with
// IHL ihl, 10.0.0.1:4000 -> 10.0.0.2:53, payload bytes numbered.
func icmpOrig(n, ihl int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	PutIPv4(b, &IPv4Header{TotalLen: uint16(n), TTL: 1, Protocol: ProtoUDP,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")})
	b[0] = 0x40 | byte(ihl)
	IPv4(b).SetChecksum()
	PutUDPHeader(b[ihl*4:], 4000, 53, n-ihl*4-8)
	return b
}

func TestPutICMPv4Error(t *testing.T) {
	for _, tc := range []struct {
		name    string
		typ     uint8
		code    uint8
		param   uint16
		orig    []byte
		bufLen  int
		wantN   int // quoted bytes
		wantErr error
	}{
		{"port unreachable, short datagram quoted whole", ICMPv4DestUnreach, ICMPv4PortUnreach, 0, icmpOrig(100, 5), 1500, 100, nil},
		{"frag needed, 548 quoted", ICMPv4DestUnreach, ICMPv4FragNeeded, 1400, icmpOrig(1500, 5), 1500, ICMPv4MaxQuote, nil},
		{"ttl exceeded, room for 40", ICMPv4TimeExceeded, ICMPv4TTLExceeded, 0, icmpOrig(1500, 5), 48, 40, nil},
		{"header+8 exactly", ICMPv4TimeExceeded, ICMPv4ReassemblyExceeded, 0, icmpOrig(1500, 5), 36, 28, nil},
		{"one byte short of header+8", ICMPv4TimeExceeded, 0, 0, icmpOrig(1500, 5), 35, 0, ErrShortBuffer},
		{"options: header 60+8", ICMPv4ParamProblem, 0, 20, icmpOrig(1500, 15), 76, 68, nil},
		{"options: one short", ICMPv4ParamProblem, 0, 20, icmpOrig(1500, 15), 75, 0, ErrShortBuffer},
		{"tiny orig quoted whole", ICMPv4DestUnreach, ICMPv4ProtoUnreach, 0, icmpOrig(100, 5)[:10], 18, 10, nil},
		{"no orig", ICMPv4DestUnreach, ICMPv4HostUnreach, 0, nil, 8, 0, nil},
		{"echo is not an error", ICMPv4Echo, 0, 0, icmpOrig(100, 5), 1500, 0, ErrUnsupported},
		{"redirect not built", ICMPv4Redirect, 0, 0, icmpOrig(100, 5), 1500, 0, ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := make([]byte, tc.bufLen)
			n, err := PutICMPv4Error(b, tc.typ, tc.code, tc.param, tc.orig)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || n != 0 {
					t.Fatalf("%d, %v; want %v", n, err, tc.wantErr)
				}
				return
			}
			if err != nil || n != 8+tc.wantN {
				t.Fatalf("%d, %v; want %d", n, err, 8+tc.wantN)
			}
			m, err := ParseICMPv4(b[:n])
			if err != nil {
				t.Fatal(err)
			}
			checkICMPv4(t, m)
			if m.Type() != tc.typ || m.Code() != tc.code || !m.ChecksumValid() || !m.IsError() {
				t.Fatalf("type %d code %d valid %v", m.Type(), m.Code(), m.ChecksumValid())
			}
			if !bytes.Equal(m.Body(), tc.orig[:tc.wantN]) {
				t.Fatal("quote differs from the original")
			}
			switch tc.typ {
			case ICMPv4DestUnreach:
				if m.NextHopMTU() != tc.param || m[4] != 0 || m[5] != 0 {
					t.Fatalf("rest of header % x", m[4:8])
				}
			case ICMPv4ParamProblem:
				if m.Pointer() != uint8(tc.param) || m[5] != 0 || m[6] != 0 || m[7] != 0 {
					t.Fatalf("rest of header % x", m[4:8])
				}
			default:
				if binary.BigEndian.Uint32(m[4:8]) != 0 {
					t.Fatalf("unused field % x", m[4:8])
				}
			}
			// The quoted header and UDP ports can be read back.
			if tc.wantN >= 28 {
				q, err := ParseIPv4Partial(m.Body())
				if err != nil {
					t.Fatal(err)
				}
				if q.Dst() != netip.MustParseAddr("10.0.0.2") || q.Protocol() != ProtoUDP ||
					binary.BigEndian.Uint16(q.Payload()[2:]) != 53 {
					t.Fatalf("quoted header: %v %d", q.Dst(), q.Protocol())
				}
			}
		})
	}
}

func TestPutICMPv4ErrorInPlace(t *testing.T) {
	// The offending datagram sits at the front of the frame buffer; the
	// reply is built after room for a new IPv4 header, overlapping it.
	orig := icmpOrig(600, 5)
	buf := make([]byte, 1500)
	copy(buf, orig)
	n, err := PutICMPv4Error(buf[20:], ICMPv4DestUnreach, ICMPv4PortUnreach, 0, buf[:600])
	if err != nil || n != 8+ICMPv4MaxQuote {
		t.Fatalf("%d, %v", n, err)
	}
	if !bytes.Equal(buf[28:28+ICMPv4MaxQuote], orig[:ICMPv4MaxQuote]) || !ICMPv4(buf[20:20+n]).ChecksumValid() {
		t.Fatal("overlapping quote corrupted")
	}
}

func TestICMPv4IsError(t *testing.T) {
	for typ := 0; typ < 256; typ++ {
		want := typ == 3 || typ == 4 || typ == 5 || typ == 11 || typ == 12
		if got := ICMPv4([]byte{byte(typ), 0, 0, 0, 0, 0, 0, 0}).IsError(); got != want {
			t.Errorf("type %d: IsError %v", typ, got)
		}
	}
}

func TestICMPv4NoAllocs(t *testing.T) {
	b := make([]byte, 600)
	orig := icmpOrig(1500, 5)
	data := make([]byte, 56)
	var sink int
	allocs := testing.AllocsPerRun(100, func() {
		n, err := PutICMPv4Echo(b, ICMPv4Echo, 1, 2, data)
		if err != nil {
			panic(err)
		}
		m, err := ParseICMPv4(b[:n])
		if err != nil || !m.ChecksumValid() {
			panic(err)
		}
		sink += int(m.Seq()) + len(m.Body())
		n, err = PutICMPv4Error(b, ICMPv4DestUnreach, ICMPv4FragNeeded, 1280, orig)
		if err != nil {
			panic(err)
		}
		sink += n
		if _, err := ParseICMPv4(b[:3]); err == nil {
			panic("no error")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations", allocs)
	}
}

func checkICMPv4(t *testing.T, m ICMPv4) {
	t.Helper()
	if len(m) < 8 || len(m.Body()) != len(m)-8 {
		t.Fatalf("view %d body %d", len(m), len(m.Body()))
	}
	_, _, _, _, _ = m.Type(), m.Code(), m.ID(), m.Seq(), m.IsError()
	_, _ = m.NextHopMTU(), m.Pointer()
	valid := m.ChecksumValid()
	c := ICMPv4(bytes.Clone(m))
	stored := c.Checksum()
	c.SetChecksum()
	// Computed 0x0000 also verifies stored as 0xffff (the other
	// ones'-complement zero).
	same := c.Checksum() == stored || (c.Checksum() == 0 && stored == 0xffff)
	if !c.ChecksumValid() || valid != same {
		t.Fatalf("ChecksumValid %v, stored %#04x, computed %#04x", valid, stored, c.Checksum())
	}
}

func FuzzICMPv4(f *testing.F) {
	f.Add([]byte{8, 0, 0x21, 0x04, 0x12, 0x34, 0x00, 0x01, 'a', 'b', 'c', 'd'})
	f.Add(append([]byte{3, 4, 0, 0, 0, 0, 0x05, 0xdc}, icmpOrig(28, 5)...))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{11, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseICMPv4(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) || len(b) >= 8 {
				t.Fatalf("len %d: %v", len(b), err)
			}
			return
		}
		checkICMPv4(t, m)
		if len(m.Body()) > len(b) {
			t.Fatal("body longer than input")
		}
		// Quoting whatever follows as an "original datagram" never
		// panics and never overruns.
		out := make([]byte, 8+len(b)%600)
		if n, err := PutICMPv4Error(out, ICMPv4TimeExceeded, 0, 0, m.Body()); err == nil {
			if n > len(out) || !ICMPv4(out[:n]).ChecksumValid() {
				t.Fatalf("built %d of %d, checksum %v", n, len(out), ICMPv4(out[:n]).ChecksumValid())
			}
		} else if !errors.Is(err, ErrShortBuffer) {
			t.Fatal(err)
		}
	})
}

func BenchmarkICMPv4(b *testing.B) {
	buf := make([]byte, 1500)
	data := make([]byte, 56)
	b.Run("PutEcho", func(b *testing.B) {
		for b.Loop() {
			PutICMPv4Echo(buf, ICMPv4Echo, 1, 2, data)
		}
	})
	b.Run("ParseVerify", func(b *testing.B) {
		n, _ := PutICMPv4Echo(buf, ICMPv4Echo, 1, 2, data)
		var sink int
		for b.Loop() {
			m, _ := ParseICMPv4(buf[:n])
			if m.ChecksumValid() {
				sink += int(m.Seq())
			}
		}
	})
	orig := icmpOrig(1500, 5)
	b.Run("PutError", func(b *testing.B) {
		for b.Loop() {
			PutICMPv4Error(buf, ICMPv4DestUnreach, ICMPv4FragNeeded, 1400, orig)
		}
	})
}
