package capture

import "encoding/binary"

// pcapng block types, option codes and constants (draft-ietf-opsawg-pcapng).
const (
	blockSHB = 0x0A0D0D0A
	blockIDB = 0x00000001
	blockEPB = 0x00000006

	byteOrderMagic = 0x1A2B3C4D
	linkTypeEther  = 1

	optEnd        = 0
	optSHBUserApp = 4
	optIfName     = 2
	optIfDesc     = 3
	optIfTsresol  = 9
	optEPBFlags   = 2

	// epb_flags bits 0-1: direction.
	flagInbound  = 1
	flagOutbound = 2

	// epbFixed is an EPB without its packet data: type, length, interface
	// id, two timestamp words, captured and original length (28 bytes),
	// the epb_flags option (8), opt_endofopt (4) and the trailing length.
	epbFixed = 28 + 8 + 4 + 4
)

var le = binary.LittleEndian

func pad4(n int) int { return (n + 3) &^ 3 }

// epbSize is the size of the EPB recording caplen bytes.
func epbSize(caplen int) int { return epbFixed + pad4(caplen) }

// putOption appends option code with value v, zero padded to 32 bits.
func putOption(b []byte, code uint16, v []byte) []byte {
	b = le.AppendUint16(b, code)
	b = le.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for i := len(v); i%4 != 0; i++ {
		b = append(b, 0)
	}
	return b
}

// appendHeader appends the Section Header Block and the one Interface
// Description Block. Called once, at New.
func appendHeader(b []byte, snaplen int, name, desc string) []byte {
	start := len(b)
	b = le.AppendUint32(b, blockSHB)
	b = le.AppendUint32(b, 0) // length, patched below
	b = le.AppendUint32(b, byteOrderMagic)
	b = le.AppendUint16(b, 1) // major version
	b = le.AppendUint16(b, 0) // minor version
	b = le.AppendUint64(b, ^uint64(0))
	b = putOption(b, optSHBUserApp, []byte("ustack"))
	b = putOption(b, optEnd, nil)
	b = closeBlock(b, start)

	start = len(b)
	b = le.AppendUint32(b, blockIDB)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, linkTypeEther)
	b = le.AppendUint16(b, 0) // reserved
	b = le.AppendUint32(b, uint32(snaplen))
	if name != "" {
		b = putOption(b, optIfName, []byte(name))
	}
	if desc != "" {
		b = putOption(b, optIfDesc, []byte(desc))
	}
	b = putOption(b, optIfTsresol, []byte{9}) // 10^-9 s: nanoseconds
	b = putOption(b, optEnd, nil)
	return closeBlock(b, start)
}

// closeBlock appends the trailing length of the block started at start
// and patches the leading one.
func closeBlock(b []byte, start int) []byte {
	n := uint32(len(b) - start + 4)
	b = le.AppendUint32(b, n)
	le.PutUint32(b[start+4:], n)
	return b
}

// appendEPB appends an Enhanced Packet Block for frame (already cut to
// the snaplen) whose real length is origLen. b must have room for
// epbSize(len(frame)) more bytes; nothing allocates.
func appendEPB(b []byte, frame []byte, origLen int, ts uint64, dir uint32) []byte {
	start := len(b)
	size := epbSize(len(frame))
	b = b[:start+size]
	h := b[start:]
	le.PutUint32(h[0:], blockEPB)
	le.PutUint32(h[4:], uint32(size))
	le.PutUint32(h[8:], 0) // interface 0
	le.PutUint32(h[12:], uint32(ts>>32))
	le.PutUint32(h[16:], uint32(ts))
	le.PutUint32(h[20:], uint32(len(frame)))
	le.PutUint32(h[24:], uint32(origLen))
	copy(h[28:], frame)
	p := 28 + len(frame)
	for ; p%4 != 0; p++ {
		h[p] = 0
	}
	le.PutUint16(h[p:], optEPBFlags)
	le.PutUint16(h[p+2:], 4)
	le.PutUint32(h[p+4:], dir)
	le.PutUint32(h[p+8:], optEnd) // code 0, length 0
	le.PutUint32(h[p+12:], uint32(size))
	return b
}
