package capture

import (
	"time"

	"github.com/ustack/ustack/link"
)

// Defaults and limits.
const (
	// DefaultSnaplen is the most bytes of a frame recorded, as tcpdump's
	// default.
	DefaultSnaplen = 262144
	// MaxSnaplen bounds WithSnaplen: the largest buffer a link.Pool makes.
	MaxSnaplen = 1 << 20
	// DefaultBufferSize is the write buffer size; it is raised to hold at
	// least one full-snaplen record.
	DefaultBufferSize = 64 << 10
	// MaxOptionLen bounds the name and description strings.
	MaxOptionLen = 1024
	// DefaultDescription is the if_description written unless
	// WithDescription says otherwise.
	DefaultDescription = "ustack link capture"
)

// An Option configures New.
type Option func(*config)

type config struct {
	name        string
	description string
	snaplen     int
	bufSize     int
	clock       link.Timestamp
	closeWriter bool
}

// WithName sets the interface name recorded in the file (if_name).
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithDescription sets the interface description (if_description);
// default DefaultDescription.
func WithDescription(d string) Option { return func(c *config) { c.description = d } }

// WithSnaplen sets how many bytes of each frame are recorded, in [1,
// 1<<20] (default 262144). Longer frames are recorded truncated, with
// their real length; the frames themselves are never changed.
func WithSnaplen(n int) Option { return func(c *config) { c.snaplen = n } }

// WithBufferSize sets the write buffer size (default 64 KiB, at least one
// record of snaplen bytes).
func WithBufferSize(n int) Option { return func(c *config) { c.bufSize = n } }

// WithClock sets where timestamps come from (default time.Now). The
// simulator passes its virtual clock. It is called once per Recv or Send
// that moves frames; the frames of one burst share its timestamp.
func WithClock(clock func() time.Time) Option { return func(c *config) { c.clock = clock } }

// WithCloseWriter makes Close also close the writer, if it is an
// io.Closer.
func WithCloseWriter() Option { return func(c *config) { c.closeWriter = true } }
