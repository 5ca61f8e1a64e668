package syncookie

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/ustack/ustack/internal/siphash"
)

// Tuple is a connection's address pair, the listener's side as Local.
type Tuple struct {
	Local, Remote netip.AddrPort
}

// MSS tables (Linux's).
var (
	mssTable4 = [4]uint16{536, 1300, 1440, 1460}
	mssTable6 = [4]uint16{1220, 1420, 1440, 8940}
)

// Defaults for Config.
const (
	DefaultPeriod = 64 * time.Second
	DefaultMaxAge = 2
)

// Config tunes a Jar. The zero value of each field selects its default.
type Config struct {
	// Period is the granularity of the cookie clock. Default 64 s.
	Period time.Duration
	// MaxAge is how many periods a cookie stays valid, counting the one it
	// was made in. Default 2; at most 255.
	MaxAge int
}

// ErrConfig is returned by New for an invalid Config.
var ErrConfig = errors.New("syncookie: invalid config")

// Options are the peer's SYN options a cookie preserves through the
// timestamp echo.
type Options struct {
	// WScale is the peer's window scale shift, valid when HasWScale.
	WScale    uint8
	HasWScale bool
	// SACKPermitted: the peer offered SACK.
	SACKPermitted bool
	// ECN: the SYN negotiated ECN (ECE and CWR set).
	ECN bool
}

// Decoded is what a valid cookie ACK gives back.
type Decoded struct {
	// MSS is the table entry encoded for the peer's MSS.
	MSS int
	// Options are the peer's options; all off when the ACK carried no
	// timestamp.
	Options
}

// Jar makes and checks cookies under one secret. It is immutable after
// New and safe for concurrent use.
type Jar struct {
	cfg Config
	key siphash.Key
}

// New returns a jar keyed by secret.
func New(cfg Config, secret [16]byte) (*Jar, error) {
	if cfg.Period < 0 || cfg.MaxAge < 0 || cfg.MaxAge > 255 {
		return nil, fmt.Errorf("%w: Period %v MaxAge %d", ErrConfig, cfg.Period, cfg.MaxAge)
	}
	if cfg.Period == 0 {
		cfg.Period = DefaultPeriod
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	return &Jar{cfg: cfg, key: siphash.KeyFromBytes(secret)}, nil
}

// Config returns the effective configuration.
func (j *Jar) Config() Config { return j.cfg }

const (
	countShift = 24
	dataMask   = 1<<countShift - 1
	tsBits     = 6
	tsMask     = 1<<tsBits - 1
	tsNoWScale = 0xf
	tsSACK     = 1 << 4
	tsECN      = 1 << 5
	maxWScale  = 14 // RFC 7323
)

func (j *Jar) hash(t Tuple, tag byte, count uint32, idx byte) uint32 {
	var buf [42]byte
	buf[0] = tag
	la, ra := t.Local.Addr().As16(), t.Remote.Addr().As16()
	copy(buf[1:17], la[:])
	lp, rp := t.Local.Port(), t.Remote.Port()
	buf[17], buf[18] = byte(lp>>8), byte(lp)
	copy(buf[19:35], ra[:])
	buf[35], buf[36] = byte(rp>>8), byte(rp)
	buf[37], buf[38], buf[39], buf[40] = byte(count>>24), byte(count>>16), byte(count>>8), byte(count)
	buf[41] = idx
	return uint32(j.key.Sum64(buf[:]))
}

func (j *Jar) count(now time.Duration) uint32 {
	if now < 0 {
		now = 0
	}
	p := j.cfg.Period
	if p <= 0 { // a zero Jar, not made by New
		p = DefaultPeriod
	}
	return uint32(now / p)
}

func table(t Tuple) *[4]uint16 {
	if t.Local.Addr().Is4() || t.Local.Addr().Is4In6() {
		return &mssTable4
	}
	return &mssTable6
}

// data is the low 24 bits of a cookie: 22 bits of H1 over the tuple, the
// count and the MSS index, then the index itself.
func (j *Jar) data(t Tuple, count, idx uint32) uint32 {
	return (j.hash(t, 1, count, byte(idx))<<2 | idx) & dataMask
}

// MSSIndex returns the table index and entry a cookie on t encodes for a
// peer MSS: the largest entry not above mss, or the smallest entry.
func MSSIndex(t Tuple, mss int) (index int, encoded int) {
	tab := table(t)
	i := len(tab) - 1
	for ; i > 0; i-- {
		if mss >= int(tab[i]) {
			break
		}
	}
	return i, int(tab[i])
}

// Encode makes the ISS of a cookie SYN,ACK answering a SYN on t with
// sequence number peerISN and MSS option mss (536 if the SYN had none).
// When the peer offered timestamps (hasTS), tsNow is the connection's
// timestamp clock and tsval the TSval to send, carrying opts; otherwise
// tsval is 0 and opts are lost. encodedMSS is the MSS the cookie carries.
func (j *Jar) Encode(t Tuple, peerISN uint32, mss int, opts Options, hasTS bool, tsNow uint32, now time.Duration) (iss, tsval uint32, encodedMSS int) {
	idx, enc := MSSIndex(t, mss)
	c := j.count(now)
	iss = j.hash(t, 0, 0, 0) + peerISN + c<<countShift + j.data(t, c, uint32(idx))
	if hasTS {
		o := uint32(tsNoWScale)
		if opts.HasWScale {
			o = uint32(min(opts.WScale, maxWScale))
		}
		if opts.SACKPermitted {
			o |= tsSACK
		}
		if opts.ECN {
			o |= tsECN
		}
		tsval = tsNow&^tsMask | o
		if tsval > tsNow {
			tsval -= 1 << tsBits
		}
	}
	return iss, tsval, enc
}

// Check validates the ACK completing a cookie handshake on t: cookie is
// SEG.ACK−1 (the ISS we sent), peerISN is SEG.SEQ−1, tsecr the ACK's TSecr
// when it carries a timestamp (hasTS). ok is false for a forged, altered
// or expired cookie, or an impossible option encoding.
func (j *Jar) Check(t Tuple, cookie, peerISN uint32, hasTS bool, tsecr uint32, now time.Duration) (d Decoded, ok bool) {
	v := cookie - j.hash(t, 0, 0, 0) - peerISN
	c := j.count(now)
	diff := (c - v>>countShift) & (1<<(32-countShift) - 1)
	if diff >= uint32(max(j.cfg.MaxAge, 1)) {
		return Decoded{}, false
	}
	idx := v & 3
	if v&dataMask != j.data(t, c-diff, idx) {
		return Decoded{}, false
	}
	d.MSS = int(table(t)[idx])
	if hasTS {
		o := tsecr & tsMask
		ws := uint8(o & 0xf)
		if ws != tsNoWScale { // 4 bits: 0-14 a shift, 15 none
			d.WScale, d.HasWScale = ws, true
		}
		d.SACKPermitted = o&tsSACK != 0
		d.ECN = o&tsECN != 0
	}
	return d, true
}
