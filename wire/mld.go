package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// MLD message types (RFC 2710, RFC 3810). A host announces the multicast
// groups it listens to (its solicited-node groups above all) so that
// switches doing MLD snooping forward NDP traffic to it.
const (
	ICMPv6MLDQuery    = 130 // Multicast Listener Query (v1 and v2)
	ICMPv6MLDv1Report = 131
	ICMPv6MLDv1Done   = 132
	ICMPv6MLDv2Report = 143
)

// MLDv2 multicast address record types (RFC 3810 section 5.2.12).
const (
	MLDv2ModeIsInclude   = 1
	MLDv2ModeIsExclude   = 2
	MLDv2ChangeToInclude = 3 // leave (with no sources)
	MLDv2ChangeToExclude = 4 // join, any source (with no sources)
	MLDv2AllowNewSources = 5
	MLDv2BlockOldSources = 6
)

const (
	mldQueryLen              = 24
	mldv2ReportHeaderLen     = 8
	mldv2RecordLen           = 20 // without sources or auxiliary data
	ipv6RouterAlertHeaderLen = 8
)

var (
	errMLDBuild  = fmt.Errorf("%w: MLDv2 report does not fit", ErrShortBuffer)
	errMLDAddr   = fmt.Errorf("%w: MLD group is not IPv6", ErrUnsupported)
	errMLDMany   = fmt.Errorf("%w: more than 65535 MLD records", ErrBadLength)
	errRABuild   = fmt.Errorf("%w: router alert header needs 8 bytes", ErrShortBuffer)
	errMLDRecLen = fmt.Errorf("%w: MLDv2 record runs past the report", ErrTruncated)
)

// mldFixedLen is the minimum length of MLD message type typ, or 0.
func mldFixedLen(typ uint8) int {
	switch typ {
	case ICMPv6MLDQuery, ICMPv6MLDv1Report, ICMPv6MLDv1Done:
		return mldQueryLen
	}
	return 0
}

// MLDMaxRespCode is a query's Maximum Response Code (milliseconds for
// MLDv1; RFC 3810 section 5.1.3 encoding for MLDv2).
func (m ICMPv6) MLDMaxRespCode() uint16 { return binary.BigEndian.Uint16(m[4:6]) }

// MLDMulticastAddr is the multicast address of an MLD query (the
// unspecified address for a general query) or MLDv1 report or done (the
// zero Addr when m is too short).
func (m ICMPv6) MLDMulticastAddr() netip.Addr {
	if len(m) < mldQueryLen {
		return netip.Addr{}
	}
	return netip.AddrFrom16([16]byte(m[8:24]))
}

// MLDv2RecordCount is an MLDv2 report's number of address records.
func (m ICMPv6) MLDv2RecordCount() int { return int(binary.BigEndian.Uint16(m[6:8])) }

// MLDv2Record reads the address record at off in an MLDv2 report m (the
// first is at 8) and returns its type, multicast address and number of
// sources, and the offset of the next record. A record running past m
// gives ErrTruncated.
func (m ICMPv6) MLDv2Record(off int) (recType uint8, group netip.Addr, nSources int, next int, err error) {
	if off < 0 || len(m)-off < mldv2RecordLen {
		return 0, netip.Addr{}, 0, 0, errMLDRecLen
	}
	r := m[off:]
	nSources = int(binary.BigEndian.Uint16(r[2:4]))
	l := mldv2RecordLen + 16*nSources + 4*int(r[1])
	if len(r) < l {
		return 0, netip.Addr{}, 0, 0, errMLDRecLen
	}
	return r[0], netip.AddrFrom16([16]byte(r[4:20])), nSources, off + l, nil
}

// PutMLDv2Report writes an MLDv2 report with one record of type recType
// and no sources for each group (MLDv2ChangeToExclude to join,
// MLDv2ChangeToInclude to leave, MLDv2ModeIsExclude to answer a query) and
// returns its length. It is sent to ff02::16 with hop limit 1 behind a
// router alert hop-by-hop header (PutIPv6RouterAlert). The checksum is
// left zero: call ICMPv6.SetChecksum.
func PutMLDv2Report(b []byte, recType uint8, groups []netip.Addr) (int, error) {
	if len(groups) > 0xffff {
		return 0, errMLDMany
	}
	n := mldv2ReportHeaderLen + mldv2RecordLen*len(groups)
	if len(b) < n {
		return 0, errMLDBuild
	}
	for _, g := range groups {
		if !g.Is6() {
			return 0, errMLDAddr
		}
	}
	b[0], b[1], b[2], b[3], b[4], b[5] = ICMPv6MLDv2Report, 0, 0, 0, 0, 0
	binary.BigEndian.PutUint16(b[6:8], uint16(len(groups)))
	off := mldv2ReportHeaderLen
	for _, g := range groups {
		r := b[off : off+mldv2RecordLen]
		r[0], r[1], r[2], r[3] = recType, 0, 0, 0
		a := g.As16()
		copy(r[4:20], a[:])
		off += mldv2RecordLen
	}
	return n, nil
}

// PutIPv6RouterAlert writes the 8-byte hop-by-hop header that carries a
// router alert option with value 0 (MLD, RFC 2711) followed by a PadN,
// naming nextHeader (ProtoICMPv6 for MLD), and returns 8.
func PutIPv6RouterAlert(b []byte, nextHeader uint8) (int, error) {
	if len(b) < ipv6RouterAlertHeaderLen {
		return 0, errRABuild
	}
	b[0], b[1] = nextHeader, 0
	b[2], b[3], b[4], b[5] = IPv6OptRouterAlert, 2, 0, 0
	b[6], b[7] = IPv6OptPadN, 0
	return ipv6RouterAlertHeaderLen, nil
}

// SolicitedNodeMulticast is the solicited-node multicast address of a
// (RFC 4291 section 2.7.1): ff02::1:ffXX:XXXX from a's low 24 bits.
func SolicitedNodeMulticast(a netip.Addr) netip.Addr {
	s := a.As16()
	return netip.AddrFrom16([16]byte{0xff, 0x02, 10: 0, 11: 0x01, 12: 0xff, 13: s[13], 14: s[14], 15: s[15]})
}

// MulticastMAC6 is the Ethernet address IPv6 multicast address a maps to
// (RFC 2464 section 7): 33:33 followed by a's low 32 bits.
func MulticastMAC6(a netip.Addr) MAC {
	s := a.As16()
	return MAC{0x33, 0x33, s[12], s[13], s[14], s[15]}
}
