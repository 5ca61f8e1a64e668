package ustack

import (
	"context"
	"net"
)

// Network is what an application needs to open sockets: *Stack provides
// it in user space, Kernel through the operating system's stack. Code
// written against Network can fall back to the kernel by configuration:
//
//	var nw ustack.Network = ustack.Kernel{}
//	if cfg.Userspace {
//		nw = stack
//	}
//	ln, err := nw.Listen("tcp", ":8080")
type Network interface {
	Listen(network, address string) (net.Listener, error)
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
	ListenPacket(network, address string) (net.PacketConn, error)
}

var (
	_ Network = (*Stack)(nil)
	_ Network = Kernel{}
)
