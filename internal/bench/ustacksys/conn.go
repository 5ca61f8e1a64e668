package ustacksys

import (
	"context"
	"net"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/internal/bench"
)

// Conn is ustack through net.Listener and net.Conn (the ustack.Network
// interface: Stack.Listen and Stack.DialContext): two stacks over
// link/mem.
func Conn(o Options) bench.System {
	return &bench.NetSystem{
		SystemName: bench.SystemUstackConn,
		Setup:      func(w bench.Workload) (*bench.NetEnv, error) { return connSetup(o, w) },
	}
}

func connSetup(o Options, w bench.Workload) (*bench.NetEnv, error) {
	p, err := newPair(o, w)
	if err != nil {
		return nil, err
	}
	var server, client ustack.Network = p.b, p.a
	addr := p.server().String()
	ln, err := server.Listen("tcp4", addr)
	if err != nil {
		p.Close()
		return nil, err
	}
	return &bench.NetEnv{
		Listener: ln,
		Dial: func(ctx context.Context) (net.Conn, error) {
			return client.DialContext(ctx, "tcp4", addr)
		},
		Note:  p.note,
		After: p.retransNote,
		Close: func() error {
			ln.Close()
			return p.Close()
		},
	}, nil
}
