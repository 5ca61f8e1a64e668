package ustack

import (
	"context"
	"net"
)

// Kernel is the Network of the operating system's own stack, through the
// net package. Its zero value uses the net package's defaults; Dialer and
// ListenConfig tune it as they would tune direct net calls.
type Kernel struct {
	Dialer       net.Dialer
	ListenConfig net.ListenConfig
}

// Listen is net.ListenConfig.Listen with a background context.
func (k Kernel) Listen(network, address string) (net.Listener, error) {
	return k.ListenConfig.Listen(context.Background(), network, address)
}

// DialContext is net.Dialer.DialContext.
func (k Kernel) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return k.Dialer.DialContext(ctx, network, address)
}

// ListenPacket is net.ListenConfig.ListenPacket with a background context.
func (k Kernel) ListenPacket(network, address string) (net.PacketConn, error) {
	return k.ListenConfig.ListenPacket(context.Background(), network, address)
}
