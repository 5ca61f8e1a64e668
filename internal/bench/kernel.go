package bench

import (
	"context"
	"net"
	"syscall"
)

// kernelMSS is the MSS the kernel's bulk-1500 run is pinned to: what a
// 1500-byte MTU gives IPv4 TCP without options.
const kernelMSS = 1460

// Kernel is the kernel's TCP over loopback (127.0.0.1) through package
// net: the baseline every other system is compared with.
func Kernel() System {
	return &NetSystem{SystemName: SystemKernel, Setup: kernelSetup}
}

func kernelSetup(w Workload) (*NetEnv, error) {
	var lc net.ListenConfig
	var d net.Dialer
	note := ""
	if w.Kind == Bulk && !w.Large {
		// Loopback's MTU is 64 KiB and it cannot be lowered without
		// privileges; pinning the MSS is the nearest to a 1500-byte MTU.
		// Segments are still batched by GSO/GRO across loopback.
		setMSS := func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, kernelMSS)
			})
			if err != nil {
				return err
			}
			return serr
		}
		lc.Control, d.Control = setMSS, setMSS
		note = "loopback with TCP_MAXSEG 1460 (lo's MTU is 64 KiB; the kernel still batches segments with GSO/GRO)"
	}
	if w.Kind == Bulk && w.Large {
		note = "loopback defaults (64 KiB MTU, GSO/GRO)"
	}
	ln, err := lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	return &NetEnv{
		Listener: ln,
		Dial: func(ctx context.Context) (net.Conn, error) {
			return d.DialContext(ctx, "tcp4", addr)
		},
		Note:  note,
		Close: ln.Close,
	}, nil
}
