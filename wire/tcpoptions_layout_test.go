package wire

import "testing"

// refLayout is the obvious layout computation, with no fast path: each
// option's padded size in Linux's order, then SACK blocks and Fast Open
// dropped until the whole fits in 40 bytes.
func refLayout(o *TCPOptions) (n, sack int, tfo bool) {
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
	tfoBytes := 0
	if o.HasTFO {
		hdr := 2
		if o.TFOExperimental {
			hdr = 4
		}
		tfoBytes = (hdr + o.tfoLen() + 3) / 4 * 4
	}
	sack = o.NumSACK
	if sack < 0 {
		sack = 0
	}
	if sack > TCPMaxSACKBlocks {
		sack = TCPMaxSACKBlocks
	}
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

// Every combination of options present against the reference, so the
// fast path for the established-connection layouts changes nothing.
func TestTCPOptionsLayoutMatchesReference(t *testing.T) {
	for mask := 0; mask < 1<<7; mask++ {
		for numSACK := -1; numSACK <= 5; numSACK++ {
			for _, tfoLen := range []int{0, 4, 16} {
				o := TCPOptions{
					HasMD5: mask&1 != 0, HasMSS: mask&2 != 0, HasTS: mask&4 != 0,
					SACKPermitted: mask&8 != 0, HasWScale: mask&16 != 0, HasTFO: mask&32 != 0,
					TFOExperimental: mask&64 != 0, NumSACK: numSACK, TFOLen: tfoLen,
				}
				n, s, f := o.layout()
				rn, rs, rf := refLayout(&o)
				if n != rn || s != rs || f != rf {
					t.Fatalf("%+v: layout %d,%d,%v, reference %d,%d,%v", o, n, s, f, rn, rs, rf)
				}
			}
		}
	}
}
