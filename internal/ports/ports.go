package ports

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/ustack/ustack/internal/siphash"
)

// Defaults for Config.
const (
	DefaultMin       = 32768
	DefaultMax       = 60999
	DefaultTableSize = 256
)

// Config describes the ephemeral range. The zero value of each field
// selects its default.
type Config struct {
	// Min and Max bound the ephemeral range, inclusive. Defaults 32768
	// and 60999 (Linux). Min must be at least 1 and not above Max.
	Min, Max uint16
	// TableSize is the number of per-bucket counters of Algorithm 4.
	// Default 256.
	TableSize int
}

// ErrExhausted is returned when no port in the range is usable.
var ErrExhausted = errors.New("ports: no ephemeral port available")

// ErrConfig is returned by New for an invalid Config.
var ErrConfig = errors.New("ports: invalid config")

// Selector picks ports. Create it with New.
type Selector struct {
	cfg   Config
	key   siphash.Key
	table []uint32
}

// New returns a selector for cfg keyed by secret.
func New(cfg Config, secret [16]byte) (*Selector, error) {
	if cfg.Min == 0 && cfg.Max == 0 {
		cfg.Min, cfg.Max = DefaultMin, DefaultMax
	}
	if cfg.Min == 0 || cfg.Max == 0 || cfg.Min > cfg.Max {
		return nil, fmt.Errorf("%w: range %d-%d", ErrConfig, cfg.Min, cfg.Max)
	}
	if cfg.TableSize < 0 {
		return nil, fmt.Errorf("%w: TableSize %d", ErrConfig, cfg.TableSize)
	}
	if cfg.TableSize == 0 {
		cfg.TableSize = DefaultTableSize
	}
	return &Selector{cfg: cfg, key: siphash.KeyFromBytes(secret), table: make([]uint32, cfg.TableSize)}, nil
}

// Config returns the effective configuration.
func (s *Selector) Config() Config { return s.cfg }

// Size is the number of ports in the range.
func (s *Selector) Size() int { return int(s.cfg.Max) - int(s.cfg.Min) + 1 }

func (s *Selector) hash(tag byte, local netip.Addr, remote netip.AddrPort) uint64 {
	var buf [35]byte
	buf[0] = tag
	la, ra := local.As16(), remote.Addr().As16()
	copy(buf[1:17], la[:])
	copy(buf[17:33], ra[:])
	p := remote.Port()
	buf[33], buf[34] = byte(p>>8), byte(p)
	return s.key.Sum64(buf[:])
}

// Pick returns a port for a connection from local to remote. inUse reports
// whether a port is already taken for this destination (the caller checks
// its connection table for the full 4-tuple); accept, if not nil, must
// also approve the port. Both are called at most Size() times. The error
// is ErrExhausted when every port in the range was refused.
func (s *Selector) Pick(local netip.Addr, remote netip.AddrPort, inUse func(port uint16) bool, accept func(port uint16) bool) (uint16, error) {
	if len(s.table) == 0 || s.cfg.Min == 0 || s.cfg.Min > s.cfg.Max {
		return 0, fmt.Errorf("%w: Selector not made by New", ErrConfig)
	}
	n := uint32(s.Size())
	offset := uint32(s.hash(4, local, remote))
	idx := s.hash(5, local, remote) % uint64(len(s.table))
	for count := n; count > 0; count-- {
		port := s.cfg.Min + uint16((offset%n+s.table[idx]%n)%n)
		s.table[idx]++
		if accept != nil && !accept(port) {
			continue
		}
		if inUse != nil && inUse(port) {
			continue
		}
		return port, nil
	}
	return 0, fmt.Errorf("%w (range %d-%d, to %v)", ErrExhausted, s.cfg.Min, s.cfg.Max, remote)
}
