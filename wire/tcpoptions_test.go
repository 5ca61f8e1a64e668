package wire_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/ustack/ustack/wire"
)

// w2Hex builds a byte slice from groups written as in the layouts of
// LINUX-WIRE.md; it exists only to keep the golden tables readable.
func w2Bytes(groups ...[]byte) []byte {
	var b []byte
	for _, g := range groups {
		b = append(b, g...)
	}
	return b
}

var (
	w2TSVal  = []byte{0x00, 0x01, 0xe2, 0x40} // 123456
	w2TSEcr  = []byte{0x0a, 0x0b, 0x0c, 0x0d}
	w2Cookie = [16]byte{0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf}
	w2Digest = [16]byte{0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf}
)

func w2Blocks(n int) (s [4]wire.SACKBlock) {
	for i := 0; i < n; i++ {
		s[i] = wire.SACKBlock{Left: 0x1000*uint32(i+1) + 1, Right: 0x1000*uint32(i+1) + 0x800}
	}
	return s
}

func w2BlockBytes(n int) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		l, r := 0x1000*uint32(i+1)+1, 0x1000*uint32(i+1)+0x800
		b = append(b, byte(l>>24), byte(l>>16), byte(l>>8), byte(l), byte(r>>24), byte(r>>16), byte(r>>8), byte(r))
	}
	return b
}

func w2CookieOpts(n int, exp bool) wire.TCPOptions {
	o := wire.TCPOptions{HasTFO: true, TFOLen: n, TFOExperimental: exp}
	copy(o.TFOCookie[:n], w2Cookie[:n])
	return o
}

// The golden layouts: what Linux's tcp_options_write produces, written out
// from LINUX-WIRE.md and RFCs 2018, 7323, 7413 and 2385 by hand.
var w2Golden = []struct {
	name string
	o    wire.TCPOptions
	want []byte
	// sack is how many blocks are expected on the wire (may be fewer
	// than o.NumSACK).
	sack int
}{
	{name: "none", want: nil},
	{
		name: "SYN mss,sackOK,TS,nop,wscale",
		o:    wire.TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTS: true, TSVal: 123456, TSEcr: 0x0a0b0c0d, HasWScale: true, WScale: 7},
		want: w2Bytes([]byte{0x02, 0x04, 0x05, 0xb4}, []byte{0x04, 0x02, 0x08, 0x0a}, w2TSVal, w2TSEcr, []byte{0x01, 0x03, 0x03, 0x07}),
	},
	{
		name: "SYN without TS: mss,nop,nop,sackOK,nop,wscale",
		o:    wire.TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasWScale: true, WScale: 7},
		want: []byte{0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02, 0x01, 0x03, 0x03, 0x07},
	},
	{
		name: "SYN without SACK: mss,nop,nop,TS,nop,wscale",
		o:    wire.TCPOptions{HasMSS: true, MSS: 1440, HasTS: true, TSVal: 123456, TSEcr: 0x0a0b0c0d, HasWScale: true, WScale: 14},
		want: w2Bytes([]byte{0x02, 0x04, 0x05, 0xa0}, []byte{0x01, 0x01, 0x08, 0x0a}, w2TSVal, w2TSEcr, []byte{0x01, 0x03, 0x03, 0x0e}),
	},
	{
		name: "SYN mss only",
		o:    wire.TCPOptions{HasMSS: true, MSS: 536},
		want: []byte{0x02, 0x04, 0x02, 0x18},
	},
	{
		name: "sackOK alone",
		o:    wire.TCPOptions{SACKPermitted: true},
		want: []byte{0x01, 0x01, 0x04, 0x02},
	},
	{
		name: "data: nop,nop,TS",
		o:    wire.TCPOptions{HasTS: true, TSVal: 123456, TSEcr: 0x0a0b0c0d},
		want: w2Bytes([]byte{0x01, 0x01, 0x08, 0x0a}, w2TSVal, w2TSEcr),
	},
	{
		name: "data: TS then one SACK block",
		o:    wire.TCPOptions{HasTS: true, TSVal: 123456, TSEcr: 0x0a0b0c0d, SACK: w2Blocks(1), NumSACK: 1},
		want: w2Bytes([]byte{0x01, 0x01, 0x08, 0x0a}, w2TSVal, w2TSEcr, []byte{0x01, 0x01, 0x05, 0x0a}, w2BlockBytes(1)),
		sack: 1,
	},
	{
		name: "data: TS and 4 blocks requested, 3 fit",
		o:    wire.TCPOptions{HasTS: true, TSVal: 123456, TSEcr: 0x0a0b0c0d, SACK: w2Blocks(4), NumSACK: 4},
		want: w2Bytes([]byte{0x01, 0x01, 0x08, 0x0a}, w2TSVal, w2TSEcr, []byte{0x01, 0x01, 0x05, 0x1a}, w2BlockBytes(3)),
		sack: 3,
	},
	{
		name: "data: 4 SACK blocks without TS",
		o:    wire.TCPOptions{SACK: w2Blocks(4), NumSACK: 4},
		want: w2Bytes([]byte{0x01, 0x01, 0x05, 0x22}, w2BlockBytes(4)),
		sack: 4,
	},
	{
		name: "MD5 first, then TS",
		o:    wire.TCPOptions{HasMD5: true, MD5: w2Digest, HasTS: true, TSVal: 123456, TSEcr: 0x0a0b0c0d},
		want: w2Bytes([]byte{0x01, 0x01, 0x13, 0x12}, w2Digest[:], []byte{0x01, 0x01, 0x08, 0x0a}, w2TSVal, w2TSEcr),
	},
	{
		name: "MD5 with TS and 2 SACK blocks: none fit",
		o:    wire.TCPOptions{HasMD5: true, MD5: w2Digest, HasTS: true, TSVal: 123456, TSEcr: 0x0a0b0c0d, SACK: w2Blocks(2), NumSACK: 2},
		want: w2Bytes([]byte{0x01, 0x01, 0x13, 0x12}, w2Digest[:], []byte{0x01, 0x01, 0x08, 0x0a}, w2TSVal, w2TSEcr),
		sack: 0,
	},
	{
		name: "MD5 and 3 SACK blocks without TS: 2 fit",
		o:    wire.TCPOptions{HasMD5: true, MD5: w2Digest, SACK: w2Blocks(3), NumSACK: 3},
		want: w2Bytes([]byte{0x01, 0x01, 0x13, 0x12}, w2Digest[:], []byte{0x01, 0x01, 0x05, 0x12}, w2BlockBytes(2)),
		sack: 2,
	},
	{
		name: "SYN with Fast Open cookie request",
		o: wire.TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTS: true, TSVal: 123456, TSEcr: 0x0a0b0c0d,
			HasWScale: true, WScale: 7, HasTFO: true},
		want: w2Bytes([]byte{0x02, 0x04, 0x05, 0xb4}, []byte{0x04, 0x02, 0x08, 0x0a}, w2TSVal, w2TSEcr,
			[]byte{0x01, 0x03, 0x03, 0x07}, []byte{0x22, 0x02, 0x01, 0x01}),
	},
	{
		name: "Fast Open 8-byte cookie",
		o:    w2CookieOpts(8, false),
		want: w2Bytes([]byte{0x22, 0x0a}, w2Cookie[:8], []byte{0x01, 0x01}),
	},
	{
		name: "Fast Open 16-byte cookie",
		o:    w2CookieOpts(16, false),
		want: w2Bytes([]byte{0x22, 0x12}, w2Cookie[:16], []byte{0x01, 0x01}),
	},
	{
		name: "Fast Open 4-byte cookie",
		o:    w2CookieOpts(4, false),
		want: w2Bytes([]byte{0x22, 0x06}, w2Cookie[:4], []byte{0x01, 0x01}),
	},
	{
		name: "experimental Fast Open 8-byte cookie",
		o:    w2CookieOpts(8, true),
		want: w2Bytes([]byte{0xfe, 0x0c, 0xf9, 0x89}, w2Cookie[:8]),
	},
	{
		name: "experimental Fast Open 6-byte cookie",
		o:    w2CookieOpts(6, true),
		want: w2Bytes([]byte{0xfe, 0x0a, 0xf9, 0x89}, w2Cookie[:6], []byte{0x01, 0x01}),
	},
	{
		name: "experimental Fast Open request",
		o:    wire.TCPOptions{HasTFO: true, TFOExperimental: true},
		want: []byte{0xfe, 0x04, 0xf9, 0x89},
	},
	{
		name: "40 bytes of MD5, MSS, TS, wscale leave no room for Fast Open",
		o: func() wire.TCPOptions {
			o := w2CookieOpts(8, false)
			o.HasMD5, o.MD5 = true, w2Digest
			o.HasMSS, o.MSS = true, 1460
			o.HasTS, o.TSVal, o.TSEcr = true, 123456, 0x0a0b0c0d
			o.HasWScale, o.WScale = true, 7
			return o
		}(),
		want: w2Bytes([]byte{0x01, 0x01, 0x13, 0x12}, w2Digest[:], []byte{0x02, 0x04, 0x05, 0xb4},
			[]byte{0x01, 0x01, 0x08, 0x0a}, w2TSVal, w2TSEcr, []byte{0x01, 0x03, 0x03, 0x07}),
	},
}

func TestTCPOptionsEncodeGolden(t *testing.T) {
	for _, c := range w2Golden {
		if got := c.o.EncodedLen(); got != len(c.want) {
			t.Errorf("%s: EncodedLen = %d, want %d", c.name, got, len(c.want))
		}
		if got := c.o.EncodedSACK(); got != c.sack {
			t.Errorf("%s: EncodedSACK = %d, want %d", c.name, got, c.sack)
		}
		b := bytes.Repeat([]byte{0xee}, 48)
		n, err := c.o.Encode(b)
		if err != nil {
			t.Errorf("%s: Encode: %v", c.name, err)
			continue
		}
		if !bytes.Equal(b[:n], c.want) {
			t.Errorf("%s: Encode\n got % x\nwant % x", c.name, b[:n], c.want)
		}
		if b[n] != 0xee {
			t.Errorf("%s: Encode wrote past its length", c.name)
		}
		if len(c.want) > 0 {
			if _, err := c.o.Encode(b[:len(c.want)-1]); !errors.Is(err, wire.ErrShortBuffer) {
				t.Errorf("%s: Encode one byte short: err = %v", c.name, err)
			}
		}
	}
}

func TestTCPOptionsParseGolden(t *testing.T) {
	for _, c := range w2Golden {
		var o wire.TCPOptions
		o.HasMSS, o.MSS = true, 9999 // must be reset by the parser
		if err := wire.ParseTCPOptions(c.want, &o); err != nil {
			t.Errorf("%s: ParseTCPOptions: %v", c.name, err)
			continue
		}
		if want := w2Fitted(c.o); o != want {
			t.Errorf("%s: parsed\n %+v\nwant\n %+v", c.name, o, want)
		}
	}
}

// Options as other stacks lay them out (orders Linux never sends), and
// the EOL rules.
func TestTCPOptionsParseForeignLayouts(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
		want wire.TCPOptions
	}{
		{
			name: "BSD-style SYN: mss,nop,wscale,nop,nop,TS,sackOK,eol,eol",
			b: w2Bytes([]byte{0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x06, 0x01, 0x01, 0x08, 0x0a},
				w2TSVal, w2TSEcr, []byte{0x04, 0x02, 0x00, 0x00}),
			want: wire.TCPOptions{HasMSS: true, MSS: 1460, HasWScale: true, WScale: 6, HasTS: true, TSVal: 123456,
				TSEcr: 0x0a0b0c0d, SACKPermitted: true},
		},
		{
			name: "EOL ends parsing, garbage after it ignored",
			b:    []byte{0x02, 0x04, 0x05, 0xb4, 0x00, 0x02, 0x00, 0x08},
			want: wire.TCPOptions{HasMSS: true, MSS: 1460},
		},
		{
			name: "EOL first",
			b:    []byte{0x00, 0x02, 0x04, 0x05, 0xb4},
		},
		{
			name: "only NOPs",
			b:    []byte{0x01, 0x01, 0x01, 0x01},
		},
		{
			name: "unknown kinds skipped by length",
			b:    []byte{0x1e, 0x04, 0xff, 0xff, 0xfd, 0x02, 0x02, 0x04, 0x01, 0x00, 0x99, 0x03, 0x42},
			want: wire.TCPOptions{HasMSS: true, MSS: 256},
		},
		{
			name: "window scale over 14 reported raw",
			b:    []byte{0x03, 0x03, 0x0f, 0x00},
			want: wire.TCPOptions{HasWScale: true, WScale: 15},
		},
		{
			name: "known kinds of the wrong length are ignored as Linux does",
			b: w2Bytes(
				[]byte{0x02, 0x03, 0x05},             // MSS len 3
				[]byte{0x03, 0x04, 0x07, 0x00},       // WS len 4
				[]byte{0x04, 0x03, 0x00},             // sackOK len 3
				[]byte{0x08, 0x06, 0, 0, 0, 1},       // TS len 6
				[]byte{0x05, 0x02},                   // SACK with no block
				[]byte{0x05, 0x05, 0, 0, 0},          // SACK not 2+8n
				[]byte{0x13, 0x04, 0, 0},             // MD5 len 4
				[]byte{0x22, 0x04, 1, 2},             // TFO cookie of 2
				[]byte{0x22, 0x07, 1, 2, 3, 4, 5},    // odd cookie
				[]byte{0xfe, 0x06, 0xf9, 0x88, 1, 2}, // kind 254, other magic
				[]byte{0xfe, 0x03, 0xf9},             // kind 254 too short for a magic
				[]byte{0x02, 0x04, 0x01, 0x00},       // a good MSS at the end
			),
			want: wire.TCPOptions{HasMSS: true, MSS: 256},
		},
		{
			name: "TFO cookie of 18 bytes is ignored",
			b:    w2Bytes([]byte{0x22, 0x14}, w2Cookie[:], []byte{1, 2}),
		},
		{
			name: "duplicates: the last wins",
			b: w2Bytes(
				[]byte{0x02, 0x04, 0x05, 0xb4, 0x02, 0x04, 0x02, 0x18},
				[]byte{0x05, 0x1a}, w2BlockBytes(3),
				[]byte{0x05, 0x0a}, w2BlockBytes(1),
			),
			want: wire.TCPOptions{HasMSS: true, MSS: 536, SACK: w2Blocks(1), NumSACK: 1},
		},
		{
			name: "duplicates: experimental TFO after kind 34",
			b:    w2Bytes([]byte{0x22, 0x0a}, w2Cookie[:8], []byte{0xfe, 0x08, 0xf9, 0x89}, w2Cookie[8:12]),
			want: wire.TCPOptions{HasTFO: true, TFOExperimental: true, TFOLen: 4,
				TFOCookie: [16]byte{0xc8, 0xc9, 0xca, 0xcb}},
		},
	}
	for _, c := range cases {
		var o wire.TCPOptions
		if err := wire.ParseTCPOptions(c.b, &o); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if o != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, o, c.want)
		}
	}
	o := wire.TCPOptions{WScale: 15}
	if o.WScaleShift() != 14 {
		t.Errorf("WScaleShift(15) = %d", o.WScaleShift())
	}
	o.WScale = 9
	if o.WScaleShift() != 9 {
		t.Errorf("WScaleShift(9) = %d", o.WScaleShift())
	}
}

func TestTCPOptionsParseMalformed(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
	}{
		{"kind without length", []byte{0x02}},
		{"kind without length after NOPs", []byte{0x01, 0x01, 0x08}},
		{"length 0", []byte{0x02, 0x00, 0x05, 0xb4}},
		{"length 1", []byte{0x02, 0x01, 0x05, 0xb4}},
		{"unknown kind of length 0", []byte{0x63, 0x00}},
		{"unknown kind of length 1", []byte{0x01, 0x63, 0x01, 0x00}},
		{"MSS past the end", []byte{0x02, 0x04, 0x05}},
		{"TS past the end", []byte{0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0}},
		{"SACK past the end", w2Bytes([]byte{0x05, 0x12}, w2BlockBytes(1))},
		{"unknown past the end", []byte{0xfd, 0x28, 0x00, 0x00}},
		{"length 255", []byte{0x13, 0xff, 0x00, 0x00}},
		{"option past the end after a good one", []byte{0x02, 0x04, 0x05, 0xb4, 0x03, 0x03}},
	}
	for _, c := range cases {
		var o wire.TCPOptions
		if err := wire.ParseTCPOptions(c.b, &o); !errors.Is(err, wire.ErrBadOption) {
			t.Errorf("%s (% x): err = %v, want ErrBadOption", c.name, c.b, err)
		}
	}
}

// Cutting a valid option list anywhere either falls on an option boundary
// (parses, giving the options before the cut) or inside an option
// (ErrBadOption).
func TestTCPOptionsEveryTruncation(t *testing.T) {
	full := w2Bytes(
		[]byte{0x01, 0x01, 0x13, 0x12}, w2Digest[:],
		[]byte{0x02, 0x04, 0x05, 0xb4},
		[]byte{0x04, 0x02, 0x08, 0x0a}, w2TSVal, w2TSEcr,
	)
	// Boundaries: 0,1,2 (NOPs), 20 (after MD5), 24 (after MSS), 26
	// (after sackOK), 36 (after TS).
	boundary := map[int]bool{0: true, 1: true, 2: true, 20: true, 24: true, 26: true, 36: true}
	for n := 0; n <= len(full); n++ {
		var o wire.TCPOptions
		err := wire.ParseTCPOptions(full[:n], &o)
		if boundary[n] {
			if err != nil {
				t.Errorf("cut at %d (boundary): %v", n, err)
			}
		} else if !errors.Is(err, wire.ErrBadOption) {
			t.Errorf("cut at %d: err = %v, want ErrBadOption", n, err)
		}
	}
}

// The 12-byte "nop nop TS" fast path must agree with the general loop,
// which the same bytes followed by EOL take.
func TestTCPOptionsFastPathMatchesLoop(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 1000; i++ {
		b := make([]byte, 13)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		if i%2 == 0 {
			copy(b, []byte{1, 1, 8, 10})
		}
		b[12] = 0
		var fast, slow wire.TCPOptions
		errFast := wire.ParseTCPOptions(b[:12], &fast)
		errSlow := wire.ParseTCPOptions(b, &slow)
		if i%2 == 0 && (errFast != nil || errSlow != nil || fast != slow || !fast.HasTS) {
			t.Fatalf("% x: fast %+v %v, loop %+v %v", b[:12], fast, errFast, slow, errSlow)
		}
	}
}

// w2RandomOptions makes an encodable option set in canonical form (fields
// zero unless their Has flag is set), sometimes too large for 40 bytes.
func w2RandomOptions(r *rand.Rand) wire.TCPOptions {
	var o wire.TCPOptions
	if r.IntN(2) == 0 {
		o.HasMSS, o.MSS = true, uint16(r.Uint32())
	}
	if r.IntN(2) == 0 {
		o.HasWScale, o.WScale = true, uint8(r.Uint32())
	}
	o.SACKPermitted = r.IntN(2) == 0
	if r.IntN(2) == 0 {
		o.HasTS, o.TSVal, o.TSEcr = true, r.Uint32(), r.Uint32()
	}
	o.NumSACK = r.IntN(5)
	for i := 0; i < o.NumSACK; i++ {
		o.SACK[i] = wire.SACKBlock{Left: r.Uint32(), Right: r.Uint32()}
	}
	if r.IntN(3) == 0 {
		o.HasTFO = true
		o.TFOExperimental = r.IntN(2) == 0
		if r.IntN(4) != 0 {
			o.TFOLen = 4 + 2*r.IntN(7)
		}
		for i := 0; i < o.TFOLen; i++ {
			o.TFOCookie[i] = byte(r.Uint32())
		}
	}
	if r.IntN(4) == 0 {
		o.HasMD5 = true
		for i := range o.MD5 {
			o.MD5[i] = byte(r.Uint32())
		}
	}
	return o
}

// w2Fitted is what parsing the encoding of the canonical options o gives:
// a plain restatement of the 40-byte rule (drop SACK blocks from the end,
// then Fast Open) computed by trying every candidate.
func w2Fitted(o wire.TCPOptions) wire.TCPOptions {
	size := func(sack int, tfo bool) int {
		n := 0
		if o.HasMD5 {
			n += 20
		}
		if o.HasMSS {
			n += 4
		}
		switch {
		case o.HasTS:
			n += 12
		case o.SACKPermitted:
			n += 4
		}
		if o.HasWScale {
			n += 4
		}
		if sack > 0 {
			n += 4 + 8*sack
		}
		if tfo {
			l := 2 + o.TFOLen
			if o.TFOExperimental {
				l += 2
			}
			n += (l + 3) / 4 * 4
		}
		return n
	}
	sack, tfo := 0, false
	found := false
	for s := o.NumSACK; s >= 0 && !found; s-- {
		if size(s, o.HasTFO) <= 40 {
			sack, tfo, found = s, o.HasTFO, true
		}
	}
	if !found {
		sack, tfo = 0, false
	}
	for i := sack; i < 4; i++ {
		o.SACK[i] = wire.SACKBlock{}
	}
	o.NumSACK = sack
	if !tfo {
		o.HasTFO, o.TFOExperimental, o.TFOLen, o.TFOCookie = false, false, 0, [16]byte{}
	}
	return o
}

func TestTCPOptionsRandomRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 5000; i++ {
		o := w2RandomOptions(r)
		n := o.EncodedLen()
		if n%4 != 0 || n > wire.TCPMaxOptionsLen {
			t.Fatalf("%+v: EncodedLen %d", o, n)
		}
		b := make([]byte, 40)
		m, err := o.Encode(b)
		if err != nil || m != n {
			t.Fatalf("%+v: Encode = %d, %v; EncodedLen %d", o, m, err, n)
		}
		var p wire.TCPOptions
		if err := wire.ParseTCPOptions(b[:m], &p); err != nil {
			t.Fatalf("% x: %v", b[:m], err)
		}
		want := w2Fitted(o)
		if p != want {
			t.Fatalf("round trip of %+v\n got %+v\nwant %+v", o, p, want)
		}
		if p.NumSACK != o.EncodedSACK() {
			t.Fatalf("EncodedSACK %d, parsed %d", o.EncodedSACK(), p.NumSACK)
		}
	}
}

// Out-of-range counts in a hand-filled struct are clamped, never a panic.
func TestTCPOptionsEncodeClamps(t *testing.T) {
	for _, o := range []wire.TCPOptions{
		{NumSACK: -3},
		{NumSACK: 99},
		{HasTFO: true, TFOLen: -1},
		{HasTFO: true, TFOLen: 300},
		{HasTFO: true, TFOLen: 5},
	} {
		n := o.EncodedLen()
		b := make([]byte, 40)
		m, err := o.Encode(b)
		if err != nil || m != n || n%4 != 0 || n > 40 {
			t.Errorf("%+v: EncodedLen %d Encode %d %v", o, n, m, err)
		}
		var p wire.TCPOptions
		if err := wire.ParseTCPOptions(b[:m], &p); err != nil {
			t.Errorf("%+v: encoding % x does not parse: %v", o, b[:m], err)
		}
	}
}

func TestTCPOptionsNoAllocs(t *testing.T) {
	syn := w2Golden[1].want
	o := w2Golden[1].o
	full := wire.TCPOptions{HasTS: true, NumSACK: 4, HasMD5: true}
	b := make([]byte, 40)
	var p wire.TCPOptions
	allocs := testing.AllocsPerRun(100, func() {
		if err := wire.ParseTCPOptions(syn, &p); err != nil {
			panic(err)
		}
		if _, err := o.Encode(b); err != nil {
			panic(err)
		}
		if _, err := full.Encode(b); err != nil {
			panic(err)
		}
		_ = wire.ParseTCPOptions(syn[:3], &p)
	})
	if allocs != 0 {
		t.Errorf("options parse/encode allocate %v times per run", allocs)
	}
}

func BenchmarkTCPOptionsEncodeSYN(b *testing.B) {
	o := w2Golden[1].o
	out := make([]byte, 40)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := o.Encode(out); err != nil {
			b.Fatal(err)
		}
	}
}

// w2RefParse is a deliberately different, two-phase reference for
// ParseTCPOptions: first cut the bytes into (kind, body) tokens, then
// interpret the tokens one by one with a table of exact lengths.
func w2RefParse(b []byte) (wire.TCPOptions, bool) {
	type tok struct {
		kind byte
		body []byte
	}
	var toks []tok
	rest := b
	for len(rest) > 0 {
		switch rest[0] {
		case 0:
			rest = nil
			continue
		case 1:
			rest = rest[1:]
			continue
		}
		if len(rest) < 2 || rest[1] < 2 || int(rest[1]) > len(rest) {
			return wire.TCPOptions{}, false
		}
		toks = append(toks, tok{rest[0], rest[2:rest[1]]})
		rest = rest[rest[1]:]
	}
	var o wire.TCPOptions
	u32 := func(p []byte) uint32 { return uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3]) }
	cookie := func(c []byte, exp bool) {
		if len(c) == 0 || (len(c) >= 4 && len(c) <= 16 && len(c)%2 == 0) {
			o.HasTFO, o.TFOExperimental, o.TFOLen = true, exp, len(c)
			o.TFOCookie = [16]byte{}
			copy(o.TFOCookie[:], c)
		}
	}
	for _, t := range toks {
		n := len(t.body)
		switch {
		case t.kind == 2 && n == 2:
			o.HasMSS, o.MSS = true, uint16(t.body[0])<<8|uint16(t.body[1])
		case t.kind == 3 && n == 1:
			o.HasWScale, o.WScale = true, t.body[0]
		case t.kind == 4 && n == 0:
			o.SACKPermitted = true
		case t.kind == 5 && n >= 8 && n <= 32 && n%8 == 0:
			o.SACK, o.NumSACK = [4]wire.SACKBlock{}, n/8
			for k := 0; k < n/8; k++ {
				o.SACK[k] = wire.SACKBlock{Left: u32(t.body[8*k:]), Right: u32(t.body[8*k+4:])}
			}
		case t.kind == 8 && n == 8:
			o.HasTS, o.TSVal, o.TSEcr = true, u32(t.body), u32(t.body[4:])
		case t.kind == 19 && n == 16:
			o.HasMD5 = true
			copy(o.MD5[:], t.body)
		case t.kind == 34:
			cookie(t.body, false)
		case t.kind == 254 && n >= 2 && t.body[0] == 0xf9 && t.body[1] == 0x89:
			cookie(t.body[2:], true)
		}
	}
	return o, true
}

func TestTCPOptionsParseMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	kinds := []byte{0, 1, 1, 2, 3, 4, 5, 8, 19, 34, 254, 77}
	lens := map[byte][]int{2: {4}, 3: {3}, 4: {2}, 5: {10, 18, 26, 34, 2}, 8: {10}, 19: {18}, 34: {2, 6, 10, 18, 20, 5}, 254: {4, 12, 6}, 77: {2, 3, 6}}
	for i := 0; i < 20000; i++ {
		var b []byte
		for len(b) < 40 && r.IntN(6) != 0 {
			k := kinds[r.IntN(len(kinds))]
			if k <= 1 {
				b = append(b, k)
				continue
			}
			l := lens[k][r.IntN(len(lens[k]))]
			if r.IntN(20) == 0 {
				l = r.IntN(45) // anything, often malformed
			}
			opt := []byte{k, byte(l)}
			for j := 2; j < l; j++ {
				opt = append(opt, byte(r.Uint32()))
			}
			if k == 254 && l >= 4 && r.IntN(4) != 0 {
				opt[2], opt[3] = 0xf9, 0x89
			}
			b = append(b, opt...)
		}
		if len(b) > 40 {
			b = b[:40]
		}
		var got wire.TCPOptions
		err := wire.ParseTCPOptions(b, &got)
		want, ok := w2RefParse(b)
		if ok != (err == nil) || (ok && got != want) {
			t.Fatalf("% x:\n got %+v, %v\nwant %+v, ok %v", b, got, err, want, ok)
		}
		if err != nil && !errors.Is(err, wire.ErrBadOption) {
			t.Fatalf("% x: error %v does not match ErrBadOption", b, err)
		}
	}
}
