package ustacksys

import (
	"context"
	"fmt"
	"net"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/internal/bench"
)

// sockets is the socket layer's API on *ustack.Stack. It is asserted at
// run time so this package builds before (and whether or not) the stack
// has it.
type sockets interface {
	Listen(network, address string) (net.Listener, error)
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// HaveConn reports whether this build's Stack has the net.Conn layer.
func HaveConn() bool {
	_, ok := any((*ustack.Stack)(nil)).(sockets)
	return ok
}

// Conn is ustack through net.Listener and net.Conn (Stack.Listen and
// Stack.DialContext): two stacks over link/mem.
func Conn(o Options) bench.System {
	return &bench.NetSystem{
		SystemName: bench.SystemUstackConn,
		Setup:      func(w bench.Workload) (*bench.NetEnv, error) { return connSetup(o, w) },
	}
}

func connSetup(o Options, w bench.Workload) (*bench.NetEnv, error) {
	if !HaveConn() {
		return nil, fmt.Errorf("%w: this build's Stack has no net.Conn layer (Stack.Listen/DialContext) yet", bench.ErrUnavailable)
	}
	p, err := newPair(o, w)
	if err != nil {
		return nil, err
	}
	sa, sb := any(p.a).(sockets), any(p.b).(sockets)
	ln, err := sb.Listen("tcp4", p.server().String())
	if err != nil {
		p.Close()
		return nil, err
	}
	addr := p.server().String()
	return &bench.NetEnv{
		Listener: ln,
		Dial: func(ctx context.Context) (net.Conn, error) {
			return sa.DialContext(ctx, "tcp4", addr)
		},
		Note:  p.note,
		After: p.retransNote,
		Close: func() error {
			ln.Close()
			return p.Close()
		},
	}, nil
}
