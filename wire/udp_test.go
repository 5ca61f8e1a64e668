package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
)

var (
	udpSrc4 = [4]byte{192, 0, 2, 1}
	udpDst4 = [4]byte{198, 51, 100, 2}
	udpSrc6 = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	udpDst6 = [16]byte{0xfe, 0x80, 8: 0x02, 15: 0x0b}
)

// udpHandSum4 is the checksum of u over a pseudo-header written out byte
// by byte (RFC 768), summed with the reference implementation.
func udpHandSum4(u []byte, src, dst [4]byte) uint16 {
	ph := append(append(append([]byte{}, src[:]...), dst[:]...), 0, ProtoUDP)
	ph = binary.BigEndian.AppendUint16(ph, uint16(len(u)))
	c := append(ph, u...)
	c[12+6], c[12+7] = 0, 0
	return ^referenceSum(c, 0)
}

func udpHandSum6(u []byte, src, dst [16]byte) uint16 {
	ph := append(append([]byte{}, src[:]...), dst[:]...)
	ph = binary.BigEndian.AppendUint32(ph, uint32(len(u)))
	ph = append(ph, 0, 0, 0, ProtoUDP)
	c := append(ph, u...)
	c[40+6], c[40+7] = 0, 0
	return ^referenceSum(c, 0)
}

func udpDatagram(payload string) []byte {
	b := make([]byte, 8+len(payload))
	PutUDPHeader(b, 4000, 53, len(payload))
	copy(b[8:], payload)
	return b
}

func TestUDPKnown(t *testing.T) {
	b := udpDatagram("hello, world")
	u, err := ParseUDP(b)
	if err != nil {
		t.Fatal(err)
	}
	checkUDP(t, u, len(b))
	if u.SrcPort() != 4000 || u.DstPort() != 53 || u.Length() != 20 || u.Checksum() != 0 || string(u.Payload()) != "hello, world" {
		t.Fatalf("fields %d %d %d %#x %q", u.SrcPort(), u.DstPort(), u.Length(), u.Checksum(), u.Payload())
	}
	// No checksum over IPv4 is acceptable; over IPv6 it is not.
	if !u.ChecksumValid4(udpSrc4, udpDst4) || u.ChecksumValid6(udpSrc6, udpDst6) {
		t.Fatal("zero checksum handling")
	}
	for _, payload := range []string{"hello, world", "odd!!", ""} {
		u := UDP(udpDatagram(payload))
		u.SetChecksum4(udpSrc4, udpDst4)
		if want := udpHandSum4(u, udpSrc4, udpDst4); u.Checksum() != want || !u.ChecksumValid4(udpSrc4, udpDst4) {
			t.Fatalf("%q v4: %#04x, want %#04x", payload, u.Checksum(), want)
		}
		if !u.ChecksumValid4(udpDst4, udpSrc4) {
			t.Fatalf("%q: swapping addresses (addition commutes) broke the sum", payload)
		}
		if u.ChecksumValid4([4]byte{192, 0, 2, 9}, udpDst4) {
			t.Fatalf("%q: valid with the wrong source address", payload)
		}
		u.SetChecksum6(udpSrc6, udpDst6)
		if want := udpHandSum6(u, udpSrc6, udpDst6); u.Checksum() != want || !u.ChecksumValid6(udpSrc6, udpDst6) {
			t.Fatalf("%q v6: %#04x, want %#04x", payload, u.Checksum(), want)
		}
		if u.ChecksumValid6(udpSrc6, [16]byte{0xfe, 0x80, 15: 0x0b}) {
			t.Fatalf("%q: valid with the wrong destination address", payload)
		}
	}
}

func TestUDPComputedZeroSentAsFFFF(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		b := udpDatagram("xxxx\x00\x00")
		u := UDP(b)
		// Choose the last payload word so that the checksum computes to
		// zero: with that word zero the checksum is c = ~S, and adding c
		// makes the sum S+~S = 0xffff, whose complement is 0.
		if v6 {
			u.SetChecksum6(udpSrc6, udpDst6)
		} else {
			u.SetChecksum4(udpSrc4, udpDst4)
		}
		c := u.Checksum()
		binary.BigEndian.PutUint16(b[12:], c)
		if v6 {
			if udpHandSum6(u, udpSrc6, udpDst6) != 0 {
				t.Fatal("construction failed")
			}
			u.SetChecksum6(udpSrc6, udpDst6)
		} else {
			if udpHandSum4(u, udpSrc4, udpDst4) != 0 {
				t.Fatal("construction failed")
			}
			u.SetChecksum4(udpSrc4, udpDst4)
		}
		if u.Checksum() != 0xffff {
			t.Fatalf("v6 %v: computed zero stored as %#04x, want 0xffff", v6, u.Checksum())
		}
		if (!v6 && !u.ChecksumValid4(udpSrc4, udpDst4)) || (v6 && !u.ChecksumValid6(udpSrc6, udpDst6)) {
			t.Fatalf("v6 %v: 0xffff does not verify", v6)
		}
	}
}

func TestParseUDPMalformed(t *testing.T) {
	full := udpDatagram("payload")
	for n := 0; n < 8; n++ {
		if _, err := ParseUDP(full[:n]); !errors.Is(err, ErrTruncated) {
			t.Errorf("len %d: %v, want ErrTruncated", n, err)
		}
	}
	for n := 8; n < len(full); n++ {
		if _, err := ParseUDP(full[:n]); !errors.Is(err, ErrTruncated) {
			t.Errorf("len %d with length field %d: %v, want ErrTruncated", n, len(full), err)
		}
	}
	for l := 0; l < 8; l++ {
		b := udpDatagram("payload")
		binary.BigEndian.PutUint16(b[4:], uint16(l))
		if _, err := ParseUDP(b); !errors.Is(err, ErrBadLength) {
			t.Errorf("length field %d: %v, want ErrBadLength", l, err)
		}
	}
	b := udpDatagram("payload")
	binary.BigEndian.PutUint16(b[4:], 0xffff)
	if _, err := ParseUDP(b); !errors.Is(err, ErrTruncated) {
		t.Errorf("length 65535: %v", err)
	}
	// Bytes after the length field's end are not payload, nor summed.
	b = append(udpDatagram("abc"), 0xee, 0xee)
	UDP(b).SetChecksum4(udpSrc4, udpDst4)
	u, err := ParseUDP(b)
	if err != nil || len(u) != 11 || string(u.Payload()) != "abc" || !u.ChecksumValid4(udpSrc4, udpDst4) {
		t.Fatalf("trailing bytes: %v len %d payload %q", err, len(u), u.Payload())
	}
	// Header only.
	if u, err := ParseUDP(udpDatagram("")); err != nil || len(u.Payload()) != 0 {
		t.Fatalf("empty payload: %v", err)
	}
}

func TestParseUDPPartial(t *testing.T) {
	// The first 8 bytes of a 1000-byte datagram, as quoted in an ICMP error.
	b := make([]byte, 8)
	PutUDPHeader(b, 5353, 53, 992)
	if _, err := ParseUDP(b); !errors.Is(err, ErrTruncated) {
		t.Fatalf("ParseUDP of a quote: %v", err)
	}
	u, err := ParseUDPPartial(b)
	if err != nil || u.SrcPort() != 5353 || u.DstPort() != 53 || u.Length() != 1000 || len(u.Payload()) != 0 {
		t.Fatalf("partial: %v %d %d %d", err, u.SrcPort(), u.DstPort(), u.Length())
	}
	if u.ChecksumValid6(udpSrc6, udpDst6) {
		t.Fatal("partial datagram verifies")
	}
	// Whole datagrams are trimmed as ParseUDP does.
	if u, err := ParseUDPPartial(append(udpDatagram("ab"), 9, 9)); err != nil || len(u) != 10 {
		t.Fatalf("whole: %v %d", err, len(u))
	}
	for n := 0; n < 8; n++ {
		if _, err := ParseUDPPartial(b[:n]); !errors.Is(err, ErrTruncated) {
			t.Errorf("len %d: %v", n, err)
		}
	}
	binary.BigEndian.PutUint16(b[4:], 7)
	if _, err := ParseUDPPartial(b); !errors.Is(err, ErrBadLength) {
		t.Errorf("length 7: %v", err)
	}
}

func TestUDPRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	buf := make([]byte, 9000)
	for iter := 0; iter < 1000; iter++ {
		sp, dp := uint16(r.Uint32()), uint16(r.Uint32())
		pl := r.IntN(len(buf) - 8)
		n, err := PutUDPHeader(buf, sp, dp, pl)
		if err != nil || n != 8 {
			t.Fatalf("PutUDPHeader = %d, %v", n, err)
		}
		randomBytes(r, buf[8:8+pl])
		var src4, dst4 [4]byte
		var src6, dst6 [16]byte
		randomBytes(r, src4[:])
		randomBytes(r, dst4[:])
		randomBytes(r, src6[:])
		randomBytes(r, dst6[:])
		u, err := ParseUDP(buf)
		if err != nil {
			t.Fatal(err)
		}
		checkUDP(t, u, len(buf))
		if u.SrcPort() != sp || u.DstPort() != dp || len(u.Payload()) != pl {
			t.Fatalf("fields %d %d %d", u.SrcPort(), u.DstPort(), len(u.Payload()))
		}
		if iter%2 == 0 {
			u.SetChecksum4(src4, dst4)
			if want := udpHandSum4(u, src4, dst4); u.Checksum() != want && !(want == 0 && u.Checksum() == 0xffff) {
				t.Fatalf("v4 checksum %#04x, want %#04x", u.Checksum(), want)
			}
			if !u.ChecksumValid4(src4, dst4) {
				t.Fatal("v4 does not verify")
			}
			if pl > 0 {
				u.Payload()[r.IntN(pl)] ^= 1 << r.IntN(8)
				if u.ChecksumValid4(src4, dst4) {
					t.Fatal("v4 verifies after a bit flip")
				}
			}
		} else {
			u.SetChecksum6(src6, dst6)
			if want := udpHandSum6(u, src6, dst6); u.Checksum() != want && !(want == 0 && u.Checksum() == 0xffff) {
				t.Fatalf("v6 checksum %#04x, want %#04x", u.Checksum(), want)
			}
			if !u.ChecksumValid6(src6, dst6) {
				t.Fatal("v6 does not verify")
			}
			if pl > 0 {
				u.Payload()[r.IntN(pl)] ^= 1 << r.IntN(8)
				if u.ChecksumValid6(src6, dst6) {
					t.Fatal("v6 verifies after a bit flip")
				}
			}
		}
		u.SetSrcPort(dp)
		u.SetDstPort(sp)
		if u.SrcPort() != dp || u.DstPort() != sp {
			t.Fatal("port setters")
		}
	}
}

func TestPutUDPHeaderErrors(t *testing.T) {
	b := make([]byte, 8)
	if _, err := PutUDPHeader(b[:7], 1, 2, 0); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short: %v", err)
	}
	if _, err := PutUDPHeader(b, 1, 2, 65528); !errors.Is(err, ErrBadLength) {
		t.Errorf("65528: %v", err)
	}
	if _, err := PutUDPHeader(b, 1, 2, -1); !errors.Is(err, ErrBadLength) {
		t.Errorf("-1: %v", err)
	}
	if n, err := PutUDPHeader(b, 1, 2, 65527); err != nil || UDP(b).Length() != 65535 || n != 8 {
		t.Errorf("65527: %d %v %d", n, err, UDP(b).Length())
	}
}

func TestUDPNoAllocs(t *testing.T) {
	b := make([]byte, 1472)
	var sink int
	allocs := testing.AllocsPerRun(100, func() {
		n, err := PutUDPHeader(b, 1000, 2000, len(b)-8)
		if err != nil {
			panic(err)
		}
		u, err := ParseUDP(b)
		if err != nil {
			panic(err)
		}
		u.SetChecksum4(udpSrc4, udpDst4)
		if u.ChecksumValid4(udpSrc4, udpDst4) {
			sink += n + len(u.Payload())
		}
		u.SetChecksum6(udpSrc6, udpDst6)
		if u.ChecksumValid6(udpSrc6, udpDst6) {
			sink++
		}
		if _, err := ParseUDP(b[:4]); err == nil {
			panic("no error")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations", allocs)
	}
}

func checkUDP(t *testing.T, u UDP, bufLen int) {
	t.Helper()
	if u.Length() != len(u) || len(u) < 8 || len(u) > bufLen || len(u.Payload()) != len(u)-8 {
		t.Fatalf("Length %d view %d payload %d buffer %d", u.Length(), len(u), len(u.Payload()), bufLen)
	}
	_, _, _ = u.SrcPort(), u.DstPort(), u.Checksum()
	v4 := u.ChecksumValid4(udpSrc4, udpDst4)
	v6 := u.ChecksumValid6(udpSrc6, udpDst6)
	c := UDP(bytes.Clone(u))
	if u.Checksum() == 0 && (!v4 || v6) {
		t.Fatalf("zero checksum: v4 %v v6 %v", v4, v6)
	}
	c.SetChecksum4(udpSrc4, udpDst4)
	if !c.ChecksumValid4(udpSrc4, udpDst4) || c.Checksum() == 0 {
		t.Fatal("SetChecksum4 does not verify")
	}
	c.SetChecksum6(udpSrc6, udpDst6)
	if !c.ChecksumValid6(udpSrc6, udpDst6) || c.Checksum() == 0 {
		t.Fatal("SetChecksum6 does not verify")
	}
}

func FuzzUDP(f *testing.F) {
	f.Add(udpDatagram("hello"))
	f.Add(append(udpDatagram("hi"), 1, 2, 3))
	f.Add([]byte{0, 53, 0, 53, 0, 7, 0, 0})
	f.Add([]byte{0, 53, 0, 53, 0xff, 0xff, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ParseUDP(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrBadLength) {
				t.Fatalf("unexpected error kind %v", err)
			}
			if p, perr := ParseUDPPartial(b); perr == nil {
				// Only a datagram cut short parses partially; every
				// accessor still stays inside the input.
				if !errors.Is(err, ErrTruncated) || len(p) > len(b) || p.Length() <= len(p) {
					t.Fatalf("partial view %d of %d, length %d, after %v", len(p), len(b), p.Length(), err)
				}
				_, _, _ = p.SrcPort(), p.DstPort(), p.Checksum()
				_ = p.ChecksumValid4(udpSrc4, udpDst4)
				_ = p.ChecksumValid6(udpSrc6, udpDst6)
				if len(p.Payload()) != len(p)-8 {
					t.Fatalf("partial payload %d of view %d", len(p.Payload()), len(p))
				}
			}
			return
		}
		checkUDP(t, u, len(b))
		if len(u.Payload()) > len(b) {
			t.Fatal("payload longer than input")
		}
		p, err := ParseUDPPartial(b)
		if err != nil || len(p) != len(u) {
			t.Fatalf("partial parse disagrees: %v %d %d", err, len(p), len(u))
		}
	})
}

func BenchmarkUDP(b *testing.B) {
	buf := make([]byte, 1472)
	b.Run("Put+Checksum4", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			PutUDPHeader(buf, 1000, 2000, len(buf)-8)
			UDP(buf).SetChecksum4(udpSrc4, udpDst4)
		}
	})
	b.Run("ParseVerify6", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		PutUDPHeader(buf, 1000, 2000, len(buf)-8)
		UDP(buf).SetChecksum6(udpSrc6, udpDst6)
		var sink int
		for b.Loop() {
			u, _ := ParseUDP(buf)
			if u.ChecksumValid6(udpSrc6, udpDst6) {
				sink += len(u.Payload())
			}
		}
	})
}

// BenchmarkReceivePath parses a minimum-size UDP/IPv4 frame the way the
// receive path does: Ethernet, IPv4 with header checksum, UDP with
// checksum.
func BenchmarkReceivePath(b *testing.B) {
	frame := make([]byte, 60)
	PutEthernet(frame, testMACB, testMACA, EtherTypeIPv4)
	PutIPv4(frame[14:], &IPv4Header{TotalLen: 20 + 8 + 18, TTL: 64, Protocol: ProtoUDP, Src: arpIPA, Dst: arpIPB})
	PutUDPHeader(frame[34:], 1, 2, 18)
	UDP(frame[34:]).SetChecksum4(arpIPA.As4(), arpIPB.As4())
	var sink int
	for b.Loop() {
		e, err := ParseEthernet(frame)
		if err != nil || e.EtherType() != EtherTypeIPv4 {
			b.Fatal(err)
		}
		h, err := ParseIPv4(e.Payload())
		if err != nil || !h.ChecksumValid() || h.Protocol() != ProtoUDP {
			b.Fatal(err)
		}
		u, err := ParseUDP(h.Payload())
		if err != nil || !u.ChecksumValid4(h.Src4(), h.Dst4()) {
			b.Fatal(err)
		}
		sink += len(u.Payload())
	}
}
