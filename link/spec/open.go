package spec

import (
	"fmt"
	"net/netip"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/afpacket"
	"github.com/ustack/ustack/link/afxdp"
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
	// Addrs are the addresses the stack on this link owns. AF_XDP needs
	// them: its XDP program steers frames for these addresses (and ARP
	// asking for them) to the socket and leaves the rest to the kernel.
	// Other backends ignore them.
	Addrs []netip.Addr
}

// Open is OpenWith(s, Options{}).
func Open(s Spec) (link.Link, error) { return OpenWith(s, Options{}) }

// OpenWith makes the link s names, in the calling thread's network
// namespace. For mem it returns the first end of a new pair whose other
// end is closed with it (useful only for tests and demos; use link/mem
// directly to get both ends). AF_XDP requires o.Addrs.
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
		if len(o.Addrs) == 0 {
			return nil, fmt.Errorf("link %s: %w: AF_XDP needs the stack's address to steer its traffic to the socket", s, ErrUnsupported)
		}
		l, err := afxdp.Open(s.Name, s.Queue, afxdp.WithPool(o.Pool), afxdp.WithAddrs(o.Addrs...))
		if err != nil {
			return nil, err
		}
		return l, nil
	}
	return nil, fmt.Errorf("link %s: %w (accepted forms: %s)", s, ErrSyntax, Forms)
}
