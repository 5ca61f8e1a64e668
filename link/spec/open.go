package spec

import (
	"fmt"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/afpacket"
	"github.com/ustack/ustack/link/mem"
	"github.com/ustack/ustack/link/tap"
)

// Open makes the link s names. For mem it returns the first end of a new
// pair whose other end is closed with it (useful only for tests and
// demos; use link/mem directly to get both ends). AF_XDP fails with an
// error wrapping ErrUnsupported until the link/afxdp backend is built.
func Open(s Spec) (link.Link, error) {
	switch s.Kind {
	case Mem:
		a, _, err := mem.NewPair()
		if err != nil {
			return nil, err
		}
		return a, nil
	case TAP:
		l, err := tap.Open(s.Name)
		if err != nil {
			return nil, err
		}
		return l, nil
	case AFPacket:
		l, err := afpacket.Open(s.Name)
		if err != nil {
			return nil, err
		}
		return l, nil
	case AFXDP:
		return nil, fmt.Errorf("link %s: %w: the AF_XDP backend (link/afxdp) is not built yet; use afpacket:%s instead", s, ErrUnsupported, s.Name)
	}
	return nil, fmt.Errorf("link %s: %w (accepted forms: %s)", s, ErrSyntax, Forms)
}
