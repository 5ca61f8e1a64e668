package isn

import (
	"net/netip"
	"time"

	"github.com/ustack/ustack/internal/siphash"
	"github.com/ustack/ustack/tcp/seqnum"
)

// Tick is the period of RFC 6528's timer M.
const Tick = 4 * time.Microsecond

// Tuple is a connection's address pair (the same shape as tcp.Tuple).
type Tuple struct {
	Local, Remote netip.AddrPort
}

// Domain tags keep the hashes for different purposes independent.
const (
	tagISN     = 1
	tagTS      = 2
	tagTSAddrs = 3
)

// Generator computes ISNs and timestamp offsets under one secret. It is
// immutable after New and safe for concurrent use.
type Generator struct {
	key siphash.Key
}

// New returns a generator keyed by secret.
func New(secret [16]byte) *Generator {
	return &Generator{key: siphash.KeyFromBytes(secret)}
}

// tupleBytes lays out tag, local address and port, remote address and port.
func tupleBytes(buf *[37]byte, tag byte, t Tuple) []byte {
	buf[0] = tag
	la, ra := t.Local.Addr().As16(), t.Remote.Addr().As16()
	copy(buf[1:17], la[:])
	lp, rp := t.Local.Port(), t.Remote.Port()
	buf[17], buf[18] = byte(lp>>8), byte(lp)
	copy(buf[19:35], ra[:])
	buf[35], buf[36] = byte(rp>>8), byte(rp)
	return buf[:]
}

// F is RFC 6528's F for t: the keyed hash of the 4-tuple, 32 bits.
func (g *Generator) F(t Tuple) uint32 {
	var buf [37]byte
	return uint32(g.key.Sum64(tupleBytes(&buf, tagISN, t)))
}

// M is RFC 6528's timer at now: now counted in 4 µs ticks, modulo 2^32.
func M(now time.Duration) uint32 { return uint32(uint64(now) / uint64(Tick)) }

// ISN returns the initial sequence number for a connection on t at now.
func (g *Generator) ISN(now time.Duration, t Tuple) seqnum.Value {
	return seqnum.Value(M(now) + g.F(t))
}

// TSOffset is the per-connection timestamp offset of RFC 7323 section 7.1:
// a keyed hash of the 4-tuple.
func (g *Generator) TSOffset(t Tuple) uint32 {
	var buf [37]byte
	return uint32(g.key.Sum64(tupleBytes(&buf, tagTS, t)))
}

// TSOffsetAddrs is a timestamp offset keyed on the address pair only, as
// Linux computes it (see the package doc).
func (g *Generator) TSOffsetAddrs(local, remote netip.Addr) uint32 {
	var buf [37]byte
	t := Tuple{Local: netip.AddrPortFrom(local, 0), Remote: netip.AddrPortFrom(remote, 0)}
	return uint32(g.key.Sum64(tupleBytes(&buf, tagTSAddrs, t)))
}
