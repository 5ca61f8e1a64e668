package wire

// TCPFlags are the eight TCP control bits of byte 13 of the header.
type TCPFlags uint8

// TCP control bits.
const (
	TCPFlagFIN TCPFlags = 0x01
	TCPFlagSYN TCPFlags = 0x02
	TCPFlagRST TCPFlags = 0x04
	TCPFlagPSH TCPFlags = 0x08
	TCPFlagACK TCPFlags = 0x10
	TCPFlagURG TCPFlags = 0x20
	TCPFlagECE TCPFlags = 0x40
	TCPFlagCWR TCPFlags = 0x80
)

// Has reports whether every flag in x is set in f.
func (f TCPFlags) Has(x TCPFlags) bool { return f&x == x }

// tcpFlagLetters are tcpdump's letters for the flags in bit order, which
// is also the order tcpdump prints them in; ACK prints as '.'.
const tcpFlagLetters = "FSRP.UEW"

// AppendString appends f as tcpdump prints it between brackets ("S",
// "S.", "P.", "F.", "R", ".", "SEW") to b, "none" when no flag is set.
func (f TCPFlags) AppendString(b []byte) []byte {
	if f == 0 {
		return append(b, "none"...)
	}
	for i := 0; i < 8; i++ {
		if f&(1<<i) != 0 {
			b = append(b, tcpFlagLetters[i])
		}
	}
	return b
}

// String is f as tcpdump prints it: see AppendString.
func (f TCPFlags) String() string {
	var a [8]byte
	return string(f.AppendString(a[:0]))
}
