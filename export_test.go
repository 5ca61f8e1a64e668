package ustack_test

import (
	"net/netip"

	"github.com/ustack/ustack/ip"
	"github.com/ustack/ustack/tcp"
)

func ipWithAddr() ip.Config { return ip.Config{Addr: netip.MustParsePrefix("10.0.0.1/24")} }

func errRefusedTCP() error { return tcp.ErrConnRefused }
