package wire

import "fmt"

// MAC is an IEEE 802 48-bit MAC address in transmission order.
type MAC [6]byte

// BroadcastMAC returns the all-ones broadcast address ff:ff:ff:ff:ff:ff.
func BroadcastMAC() MAC { return MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} }

// IsBroadcast reports whether m is ff:ff:ff:ff:ff:ff.
func (m MAC) IsBroadcast() bool { return m == BroadcastMAC() }

// IsMulticast reports whether m is a group address (the I/G bit, the
// least significant bit of the first octet, is set). The broadcast address
// is a group address too.
func (m MAC) IsMulticast() bool { return m[0]&1 != 0 }

// IsZero reports whether m is 00:00:00:00:00:00 (an ARP request's
// unknown target, or an unset address).
func (m MAC) IsZero() bool { return m == MAC{} }

const macHexDigits = "0123456789abcdef"

// AppendText appends m in the form "aa:bb:cc:dd:ee:ff" to b.
func (m MAC) AppendText(b []byte) ([]byte, error) {
	for i, o := range m {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, macHexDigits[o>>4], macHexDigits[o&0xf])
	}
	return b, nil
}

// String returns m as six lower-case hex octets separated by colons.
func (m MAC) String() string {
	var buf [17]byte
	b, _ := m.AppendText(buf[:0])
	return string(b)
}

// MarshalText implements encoding.TextMarshaler ("aa:bb:cc:dd:ee:ff"), so a
// MAC in a configuration struct reads and writes as text in JSON.
func (m MAC) MarshalText() ([]byte, error) { return m.AppendText(make([]byte, 0, 17)) }

// UnmarshalText implements encoding.TextUnmarshaler with ParseMAC.
func (m *MAC) UnmarshalText(b []byte) error {
	v, err := ParseMAC(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// ParseMAC parses a MAC address written as six hex octets separated by
// colons or hyphens ("02:00:00:00:00:01", "02-00-00-00-00-01"), each one
// or two digits, upper or lower case.
func ParseMAC(s string) (MAC, error) {
	var m MAC
	var sep byte
	i := 0
	for k := range m {
		if k > 0 {
			if i >= len(s) || (s[i] != ':' && s[i] != '-') || (sep != 0 && s[i] != sep) {
				return MAC{}, fmt.Errorf("wire: bad MAC address %q", s)
			}
			sep = s[i]
			i++
		}
		v, n := 0, 0
		for ; i < len(s) && n < 2; i, n = i+1, n+1 {
			d := macHexVal(s[i])
			if d < 0 {
				break
			}
			v = v<<4 | d
		}
		if n == 0 {
			return MAC{}, fmt.Errorf("wire: bad MAC address %q", s)
		}
		m[k] = byte(v)
	}
	if i != len(s) {
		return MAC{}, fmt.Errorf("wire: bad MAC address %q", s)
	}
	return m, nil
}

func macHexVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
