package udp

import (
	"errors"
	"fmt"
)

// Defaults for Config.
const (
	// DefaultRecvBuffer is Linux's net.core.rmem_default.
	DefaultRecvBuffer = 212992
	// MaxRecvBuffer bounds Config.RecvBuffer (1 GiB).
	MaxRecvBuffer = 1 << 30
	// DefaultMinPort and DefaultMaxPort are Linux's ip_local_port_range.
	DefaultMinPort = 32768
	DefaultMaxPort = 60999
)

// ErrConfig is wrapped by every error New returns for an invalid Config.
var ErrConfig = errors.New("udp: invalid config")

// Config configures a Table. Zero fields take their defaults.
type Config struct {
	// RecvBuffer bounds, in bytes of buffer memory (see Charge), what may
	// wait on one endpoint's receive queue. Default 212992 (Linux
	// rmem_default), range [1, MaxRecvBuffer].
	RecvBuffer int
	// MinPort and MaxPort bound the ephemeral port range, inclusive.
	// Default 32768–60999. Set both or neither; 1 <= MinPort <= MaxPort.
	MinPort, MaxPort uint16
	// Seed seeds the generator that randomises ephemeral port choice
	// (RFC 6056). Fill it from crypto/rand; the zero value is a valid,
	// fixed seed that makes runs reproducible (the simulator wants that).
	Seed [32]byte
}

func (c Config) withDefaults() (Config, error) {
	if c.RecvBuffer == 0 {
		c.RecvBuffer = DefaultRecvBuffer
	}
	if c.RecvBuffer < 1 || c.RecvBuffer > MaxRecvBuffer {
		return c, fmt.Errorf("%w: RecvBuffer %d out of range [1, %d]", ErrConfig, c.RecvBuffer, MaxRecvBuffer)
	}
	if c.MinPort == 0 && c.MaxPort == 0 {
		c.MinPort, c.MaxPort = DefaultMinPort, DefaultMaxPort
	}
	if c.MinPort == 0 || c.MinPort > c.MaxPort {
		return c, fmt.Errorf("%w: ephemeral range %d-%d", ErrConfig, c.MinPort, c.MaxPort)
	}
	return c, nil
}

// Validate reports whether cfg is acceptable to New.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}
