package spec

import (
	"fmt"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/afpacket"
	"github.com/ustack/ustack/link/mem"
	"github.com/ustack/ustack/link/tap"
)

// Options tune OpenWith. The zero value gives every backend's defaults.
type Options struct {
	// Pool configures the link's buffer pool; zero fields take the
	// backend's defaults. A stack reassembles IP fragments into the first
	// fragment's buffer, so receiving datagrams larger than a frame needs
	// Size to hold them.
	Pool link.PoolConfig
}

// Open is OpenWith(s, Options{}).
func Open(s Spec) (link.Link, error) { return OpenWith(s, Options{}) }

// OpenWith makes the link s names, in the calling thread's network
// namespace. For mem it returns the first end of a new pair whose other
// end is closed with it (useful only for tests and demos; use link/mem
// directly to get both ends). AF_XDP fails with an error wrapping
// ErrUnsupported until the link/afxdp backend is built.
func OpenWith(s Spec, o Options) (link.Link, error) {
	switch s.Kind {
	case Mem:
		a, _, err := mem.NewPair(mem.WithPool(o.Pool))
		if err != nil {
			return nil, err
		}
		return a, nil
	case TAP:
		l, err := tap.Open(s.Name, tap.WithPool(o.Pool))
		if err != nil {
			return nil, err
		}
		return l, nil
	case AFPacket:
		l, err := afpacket.Open(s.Name, afpacket.WithPool(o.Pool))
		if err != nil {
			return nil, err
		}
		return l, nil
	case AFXDP:
		return nil, fmt.Errorf("link %s: %w: the AF_XDP backend (link/afxdp) is not built yet; use afpacket:%s instead", s, ErrUnsupported, s.Name)
	}
	return nil, fmt.Errorf("link %s: %w (accepted forms: %s)", s, ErrSyntax, Forms)
}
