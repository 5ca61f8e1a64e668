package main

import (
	"context"
	"fmt"
	"net"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/pipe"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

	"github.com/ustack/ustack/internal/bench"
)

// GVisor is gVisor's netstack: two stacks joined by its pipe link (which
// hands each packet to the other stack's receive path on the sending
// goroutine), reached through the gonet adapter's net.Listener and
// net.Conn. Stack options are gVisor's defaults except SACK and receive
// buffer auto-tuning, which are turned on as Linux has them (without them
// bulk-1500 runs at a few hundred Mbit/s).
func GVisor() bench.System {
	return &bench.NetSystem{SystemName: bench.SystemGVisor, Setup: gvisorSetup}
}

const (
	nicID      = 1
	serverPort = 5001
	largeMTU   = 65535
)

var (
	addrA = tcpip.AddrFrom4([4]byte{10, 0, 0, 1})
	addrB = tcpip.AddrFrom4([4]byte{10, 0, 0, 2})
)

func newStack(ep stack.LinkEndpoint, addr tcpip.Address) (*stack.Stack, error) {
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol},
	})
	sack := tcpip.TCPSACKEnabled(true)
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack); err != nil {
		s.Close()
		return nil, fmt.Errorf("gvisor SACK option: %s", err)
	}
	mod := tcpip.TCPModerateReceiveBufferOption(true)
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &mod); err != nil {
		s.Close()
		return nil, fmt.Errorf("gvisor receive-buffer option: %s", err)
	}
	if err := s.CreateNIC(nicID, ep); err != nil {
		s.Close()
		return nil, fmt.Errorf("gvisor CreateNIC: %s", err)
	}
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: addr.WithPrefix()}
	if err := s.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
		s.Close()
		return nil, fmt.Errorf("gvisor AddProtocolAddress: %s", err)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, NIC: nicID}})
	return s, nil
}

func gvisorSetup(w bench.Workload) (*bench.NetEnv, error) {
	mtu, note := uint32(1500), ""
	if w.Kind == bench.Bulk && w.Large {
		mtu = largeMTU
		note = "the pipe link has no GSO: runs with a 65535-byte MTU instead"
	}
	la, lb := pipe.New("\x02\x00\x00\x00\x00\x01", "\x02\x00\x00\x00\x00\x02", mtu)
	sa, err := newStack(la, addrA)
	if err != nil {
		return nil, err
	}
	sb, err := newStack(lb, addrB)
	if err != nil {
		sa.Close()
		return nil, err
	}
	server := tcpip.FullAddress{NIC: nicID, Addr: addrB, Port: serverPort}
	ln, err := gonet.ListenTCP(sb, server, ipv4.ProtocolNumber)
	if err != nil {
		sa.Close()
		sb.Close()
		return nil, err
	}
	return &bench.NetEnv{
		Listener: ln,
		Dial: func(ctx context.Context) (net.Conn, error) {
			return gonet.DialContextTCP(ctx, sa, server, ipv4.ProtocolNumber)
		},
		Note: note,
		Close: func() error {
			ln.Close()
			sa.Close()
			sb.Close()
			return nil
		},
	}, nil
}
