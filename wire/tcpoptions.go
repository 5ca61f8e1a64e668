package wire

import (
	"encoding/binary"
	"fmt"
)

// TCP option kinds (IANA "TCP Option Kind Numbers").
const (
	TCPOptEOL           = 0
	TCPOptNOP           = 1
	TCPOptMSS           = 2  // RFC 9293
	TCPOptWScale        = 3  // RFC 7323
	TCPOptSACKPermitted = 4  // RFC 2018
	TCPOptSACK          = 5  // RFC 2018
	TCPOptTimestamps    = 8  // RFC 7323
	TCPOptMD5           = 19 // RFC 2385
	TCPOptFastOpen      = 34 // RFC 7413
	TCPOptExperimental  = 254
	// TCPOptFastOpenMagic is the magic that marks an experimental (kind
	// 254) option as a Fast Open cookie, as sent before kind 34 was
	// assigned (RFC 6994 format).
	TCPOptFastOpenMagic = 0xF989
)

// TCP option limits.
const (
	// TCPMaxWScale is the largest window scale shift RFC 7323 allows;
	// larger offers are reported raw by ParseTCPOptions and should be
	// used as 14 (see TCPOptions.WScaleShift).
	TCPMaxWScale = 14
	// TCPMaxSACKBlocks is the most SACK blocks one option carries.
	TCPMaxSACKBlocks = 4
	// TCPMinTFOCookie and TCPMaxTFOCookie bound a Fast Open cookie
	// (RFC 7413 section 4.1.1); its length is also even.
	TCPMinTFOCookie = 4
	TCPMaxTFOCookie = 16
)

var (
	errTCPOptNoLen  = fmt.Errorf("%w: TCP option without a length byte", ErrBadOption)
	errTCPOptLen    = fmt.Errorf("%w: TCP option length below 2", ErrBadOption)
	errTCPOptPast   = fmt.Errorf("%w: TCP option runs past the header", ErrBadOption)
	errTCPOptEncBuf = fmt.Errorf("%w: TCP options do not fit", ErrShortBuffer)
)

// SACKBlock is one SACK block: the sequence numbers of the first byte of a
// received block and of the byte after it (RFC 2018 section 3).
type SACKBlock struct{ Left, Right uint32 }

// TCPOptions are the TCP options ustack understands, parsed from or to be
// encoded into a header. The zero value means no options.
//
// When ParseTCPOptions meets an option kind twice, the last one wins
// (a second SACK option replaces the blocks of the first).
type TCPOptions struct {
	MSS    uint16
	HasMSS bool
	// WScale is the shift as received (possibly over TCPMaxWScale).
	WScale        uint8
	HasWScale     bool
	SACKPermitted bool
	HasTS         bool
	TSVal, TSEcr  uint32
	// SACK[:NumSACK] are the SACK blocks, 0 to 4.
	SACK    [TCPMaxSACKBlocks]SACKBlock
	NumSACK int
	// HasTFO with TFOLen 0 is a cookie request; otherwise
	// TFOCookie[:TFOLen] is the cookie, whose length should be even and
	// 4 to 16 (Encode clamps TFOLen to 0..16 and writes any length, but
	// receivers ignore other lengths). TFOExperimental selects (or
	// reports) the experimental encoding, kind 254 with magic 0xF989.
	HasTFO          bool
	TFOCookie       [TCPMaxTFOCookie]byte
	TFOLen          int
	TFOExperimental bool
	// HasMD5 and MD5: an RFC 2385 signature option. Parsed, and encoded
	// only when set by the caller; ustack does not compute signatures.
	HasMD5 bool
	MD5    [16]byte
}

// WScaleShift is the window scale shift to use: WScale clamped to
// TCPMaxWScale (RFC 7323 section 2.3).
func (o *TCPOptions) WScaleShift() uint8 {
	if o.WScale > TCPMaxWScale {
		return TCPMaxWScale
	}
	return o.WScale
}

// ParseTCPOptions resets o and fills it from the option bytes b (see
// TCP.Options).
//
// NOP is skipped and EOL ends parsing. An option whose length byte is
// missing, below 2, or runs past b gives an error matching ErrBadOption.
// A known option whose length is not the one its kind requires (MSS 4,
// window scale 3, SACK-permitted 2, SACK 2+8n with n 1 to 4, timestamps
// 10, MD5 18, Fast Open 2 or an even cookie of 4 to 16 bytes) is ignored
// as Linux ignores it, as are unknown kinds, which are skipped by their
// length.
func ParseTCPOptions(b []byte, o *TCPOptions) error {
	*o = TCPOptions{}
	// Fast path: the usual data-segment layout, NOP NOP timestamps.
	if len(b) == 12 && binary.BigEndian.Uint32(b) == 0x0101080a {
		o.HasTS = true
		o.TSVal = binary.BigEndian.Uint32(b[4:8])
		o.TSEcr = binary.BigEndian.Uint32(b[8:12])
		return nil
	}
	for i := 0; i < len(b); {
		kind := b[i]
		if kind == TCPOptEOL {
			return nil
		}
		if kind == TCPOptNOP {
			i++
			continue
		}
		if i+1 >= len(b) {
			return errTCPOptNoLen
		}
		l := int(b[i+1])
		if l < 2 {
			return errTCPOptLen
		}
		if l > len(b)-i {
			return errTCPOptPast
		}
		opt := b[i : i+l]
		i += l
		switch kind {
		case TCPOptMSS:
			if l == 4 {
				o.HasMSS = true
				o.MSS = binary.BigEndian.Uint16(opt[2:4])
			}
		case TCPOptWScale:
			if l == 3 {
				o.HasWScale = true
				o.WScale = opt[2]
			}
		case TCPOptSACKPermitted:
			if l == 2 {
				o.SACKPermitted = true
			}
		case TCPOptSACK:
			n := (l - 2) / 8
			if (l-2)%8 != 0 || n < 1 || n > TCPMaxSACKBlocks {
				break
			}
			o.SACK = [TCPMaxSACKBlocks]SACKBlock{}
			for k := 0; k < n; k++ {
				p := opt[2+8*k : 10+8*k]
				o.SACK[k] = SACKBlock{binary.BigEndian.Uint32(p[0:4]), binary.BigEndian.Uint32(p[4:8])}
			}
			o.NumSACK = n
		case TCPOptTimestamps:
			if l == 10 {
				o.HasTS = true
				o.TSVal = binary.BigEndian.Uint32(opt[2:6])
				o.TSEcr = binary.BigEndian.Uint32(opt[6:10])
			}
		case TCPOptMD5:
			if l == 18 {
				o.HasMD5 = true
				copy(o.MD5[:], opt[2:18])
			}
		case TCPOptFastOpen:
			o.parseTFO(opt[2:], false)
		case TCPOptExperimental:
			if l >= 4 && binary.BigEndian.Uint16(opt[2:4]) == TCPOptFastOpenMagic {
				o.parseTFO(opt[4:], true)
			}
		}
	}
	return nil
}

// parseTFO records a Fast Open option whose cookie bytes are c, or ignores
// it when the cookie length is invalid.
func (o *TCPOptions) parseTFO(c []byte, exp bool) {
	n := len(c)
	if n != 0 && (n < TCPMinTFOCookie || n > TCPMaxTFOCookie || n%2 != 0) {
		return
	}
	o.HasTFO = true
	o.TFOExperimental = exp
	o.TFOLen = n
	o.TFOCookie = [TCPMaxTFOCookie]byte{}
	copy(o.TFOCookie[:], c)
}

// tfoLen is the TFO cookie length Encode writes: TFOLen clamped to
// 0..TCPMaxTFOCookie.
func (o *TCPOptions) tfoLen() int {
	return min(max(o.TFOLen, 0), TCPMaxTFOCookie)
}

// layout computes what Encode writes: the padded length, how many SACK
// blocks, and whether the Fast Open option fits.
func (o *TCPOptions) layout() (n, sack int, tfo bool) {
	if !o.HasMD5 && !o.HasMSS && !o.HasWScale && !o.HasTFO && o.NumSACK <= 0 {
		// Every segment of an established connection: timestamps
		// (with or without SACK-permitted) or nothing.
		if o.HasTS {
			return 12, 0, false
		}
		if o.SACKPermitted {
			return 4, 0, false
		}
		return 0, 0, false
	}
	if o.HasMD5 {
		n += 20
	}
	if o.HasMSS {
		n += 4
	}
	if o.HasTS {
		n += 12 // SACK-permitted, when set, shares the word before TS
	} else if o.SACKPermitted {
		n += 4
	}
	if o.HasWScale {
		n += 4
	}
	tfoBytes := 0
	if o.HasTFO {
		base := 2
		if o.TFOExperimental {
			base = 4
		}
		tfoBytes = (base + o.tfoLen() + 3) &^ 3
	}
	sack = min(max(o.NumSACK, 0), TCPMaxSACKBlocks)
	// Linux's order of giving up space: SACK blocks from the end, then
	// Fast Open. What remains is at most 40 bytes (MD5 20, MSS 4,
	// SACK-permitted+TS 12, window scale 4).
	for sack > 0 && n+4+8*sack+tfoBytes > TCPMaxOptionsLen {
		sack--
	}
	if sack > 0 {
		n += 4 + 8*sack
	}
	if tfoBytes > 0 && n+tfoBytes <= TCPMaxOptionsLen {
		n += tfoBytes
		tfo = true
	}
	return n, sack, tfo
}

// EncodedLen is the number of bytes Encode writes: a multiple of 4, at
// most 40.
func (o *TCPOptions) EncodedLen() int {
	n, _, _ := o.layout()
	return n
}

// EncodedSACK is how many SACK blocks Encode writes: NumSACK, less those
// that do not fit in 40 bytes.
func (o *TCPOptions) EncodedSACK() int {
	_, s, _ := o.layout()
	return s
}

// Encode writes the options to b in Linux's layout (tcp_options_write)
// and returns EncodedLen:
//
//	MD5        01 01 13 12 <16-byte digest>
//	MSS        02 04 <mss>
//	TS         01 01 08 0a <tsval> <tsecr>   (04 02 08 0a ... with SACK-permitted)
//	SACK-perm  01 01 04 02                   (without TS)
//	WScale     01 03 03 <shift>
//	SACK       01 01 05 <len> <blocks>
//	Fast Open  22 <len> <cookie> [01 01]     (fe <len> f9 89 <cookie> [01 01] experimental)
//
// each present only when set. A SYN with MSS, SACK-permitted, timestamps
// and window scale is therefore "02 04 mss | 04 02 08 0a val ecr | 01 03
// 03 ws". When everything requested exceeds 40 bytes, SACK blocks are
// dropped from the end until it fits (with timestamps, 3 blocks remain, as
// Linux sends), and then the Fast Open option if still needed. A short b
// gives ErrShortBuffer.
func (o *TCPOptions) Encode(b []byte) (int, error) {
	n, sack, tfo := o.layout()
	if len(b) < n {
		return 0, errTCPOptEncBuf
	}
	return o.encode(b[:n], sack, tfo), nil
}

// encode writes the options laid out by layout into b, whose length is
// the layout's, and returns that length.
func (o *TCPOptions) encode(b []byte, sack int, tfo bool) int {
	n := len(b)
	i := 0
	if o.HasMD5 {
		binary.BigEndian.PutUint32(b[i:], 0x01011312)
		copy(b[i+4:i+20], o.MD5[:])
		i += 20
	}
	if o.HasMSS {
		binary.BigEndian.PutUint32(b[i:], 0x02040000|uint32(o.MSS))
		i += 4
	}
	if o.HasTS {
		if o.SACKPermitted {
			binary.BigEndian.PutUint32(b[i:], 0x0402080a)
		} else {
			binary.BigEndian.PutUint32(b[i:], 0x0101080a)
		}
		binary.BigEndian.PutUint32(b[i+4:], o.TSVal)
		binary.BigEndian.PutUint32(b[i+8:], o.TSEcr)
		i += 12
	} else if o.SACKPermitted {
		binary.BigEndian.PutUint32(b[i:], 0x01010402)
		i += 4
	}
	if o.HasWScale {
		binary.BigEndian.PutUint32(b[i:], 0x01030300|uint32(o.WScale))
		i += 4
	}
	if sack > 0 {
		binary.BigEndian.PutUint32(b[i:], 0x01010500|uint32(2+8*sack))
		i += 4
		for k := 0; k < sack; k++ {
			binary.BigEndian.PutUint32(b[i:], o.SACK[k].Left)
			binary.BigEndian.PutUint32(b[i+4:], o.SACK[k].Right)
			i += 8
		}
	}
	if tfo {
		c := o.tfoLen()
		if o.TFOExperimental {
			b[i], b[i+1] = TCPOptExperimental, uint8(4+c)
			binary.BigEndian.PutUint16(b[i+2:], TCPOptFastOpenMagic)
			i += 4
		} else {
			b[i], b[i+1] = TCPOptFastOpen, uint8(2+c)
			i += 2
		}
		i += copy(b[i:], o.TFOCookie[:c])
		for ; i < n; i++ {
			b[i] = TCPOptNOP
		}
	}
	return i
}
