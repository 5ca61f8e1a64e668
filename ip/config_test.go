package ip

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestConfigDefaults(t *testing.T) {
	h := hostA(t, nil)
	c := h.Config()
	if c.MTU != 1500 || c.TTL != 64 || c.Neigh.CacheSize != 256 || c.Neigh.ReachableTime != DefaultReachableTime ||
		c.Neigh.RetransTime != DefaultRetransTime || c.Neigh.MaxProbes != 3 || c.Frag.MemLimit != 4<<20 ||
		c.Frag.Timeout != DefaultFragTimeout || c.Frag.MaxDatagrams != 64 || c.ICMP.ErrorRate != 1000 ||
		c.ICMP.ErrorBurst != 50 || c.Neigh.PendingLimit != DefaultPendingLimit {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if h.bcast != a4(netip.MustParseAddr("10.0.0.255")) {
		t.Fatalf("subnet broadcast %v", addrOf(h.bcast))
	}
	// The reassembly pool: 16 buffers of 65535 bytes (and 128 of
	// headroom), about 1 MiB, all free.
	if c.Frag.BufSize != 65535 || c.Frag.Buffers != 16 {
		t.Fatalf("reassembly pool defaults: %+v", c.Frag)
	}
	if p := h.ReasmPool(); p == nil || p.Cap() != 16 || p.BufSize() != 65535 || p.InUse() != 0 {
		t.Fatalf("reassembly pool %+v", p)
	}
}

// The reassembly pool's default shrinks to fit MemLimit, down to none.
func TestConfigFragPoolBoundedByMemLimit(t *testing.T) {
	for _, tc := range []struct{ mem, bufSize, want int }{
		{4 << 20, 0, 16},
		{(65535 + FragBufHeadroom) * 3, 0, 3},
		{65535, 0, -1},
		{64 << 10, 9000, 7},
		{1 << 30, 0, 16},
	} {
		h := hostA(t, func(c *Config) { c.Frag.MemLimit = tc.mem; c.Frag.BufSize = tc.bufSize })
		got := h.Config().Frag.Buffers
		if got != tc.want {
			t.Errorf("MemLimit %d BufSize %d: %d buffers, want %d", tc.mem, tc.bufSize, got, tc.want)
		}
		if p := h.ReasmPool(); (p == nil) != (tc.want < 0) || p != nil && p.Cap() != tc.want {
			t.Errorf("MemLimit %d: pool %v", tc.mem, p)
		}
	}
}

func TestConfigInvalid(t *testing.T) {
	mac := [6]byte(macA)
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no addr", Config{MAC: mac}, "Addr is required"},
		{"v6", Config{Addr: p("2001:db8::1/64"), MAC: mac}, "not IPv4"},
		{"/0", Config{Addr: p("10.0.0.1/0"), MAC: mac}, "prefix length"},
		{"multicast", Config{Addr: p("224.0.0.1/24"), MAC: mac}, "not a unicast"},
		{"loopback", Config{Addr: p("127.0.0.1/8"), MAC: mac}, "not a unicast"},
		{"network addr", Config{Addr: p("10.0.0.0/24"), MAC: mac}, "network address"},
		{"bcast addr", Config{Addr: p("10.0.0.255/24"), MAC: mac}, "broadcast address"},
		{"no mac", Config{Addr: p("10.0.0.2/24")}, "MAC"},
		{"multicast mac", Config{Addr: p("10.0.0.2/24"), MAC: [6]byte{1, 0, 0x5e, 0, 0, 1}}, "MAC"},
		{"mtu small", Config{Addr: p("10.0.0.2/24"), MAC: mac, MTU: 67}, "MTU 67"},
		{"mtu big", Config{Addr: p("10.0.0.2/24"), MAC: mac, MTU: 65536}, "MTU 65536"},
		{"gw off-link", Config{Addr: p("10.0.0.2/24"), MAC: mac, Gateway: a("10.0.1.1")}, "not on-link"},
		{"gw self", Config{Addr: p("10.0.0.2/24"), MAC: mac, Gateway: a("10.0.0.2")}, "own address"},
		{"gw bcast", Config{Addr: p("10.0.0.2/24"), MAC: mac, Gateway: a("10.0.0.255")}, "broadcast"},
		{"gw v6", Config{Addr: p("10.0.0.2/24"), MAC: mac, Gateway: a("fe80::1")}, "not IPv4"},
		{"route unmasked", Config{Addr: p("10.0.0.2/24"), MAC: mac,
			Routes: []Route{{Prefix: p("192.168.1.1/24"), Gateway: a("10.0.0.9")}}}, "host bits"},
		{"route gw off-link", Config{Addr: p("10.0.0.2/24"), MAC: mac,
			Routes: []Route{{Prefix: p("192.168.1.0/24"), Gateway: a("10.9.0.9")}}}, "not on-link"},
		{"cache", Config{Addr: p("10.0.0.2/24"), MAC: mac, Neigh: NeighConfig{CacheSize: -1}}, "CacheSize"},
		{"probes", Config{Addr: p("10.0.0.2/24"), MAC: mac, Neigh: NeighConfig{MaxProbes: 300}}, "MaxProbes"},
		{"neg dur", Config{Addr: p("10.0.0.2/24"), MAC: mac, Neigh: NeighConfig{RetransTime: -1}}, "negative"},
		{"pending", Config{Addr: p("10.0.0.2/24"), MAC: mac, Neigh: NeighConfig{PendingLimit: -1}}, "PendingLimit"},
		{"frag mem", Config{Addr: p("10.0.0.2/24"), MAC: mac, Frag: FragConfig{MemLimit: -1}}, "MemLimit"},
		{"frag slots", Config{Addr: p("10.0.0.2/24"), MAC: mac, Frag: FragConfig{MaxDatagrams: 5000}}, "MaxDatagrams"},
		{"frag timeout", Config{Addr: p("10.0.0.2/24"), MAC: mac, Frag: FragConfig{Timeout: -1}}, "Timeout"},
		{"frag bufsize small", Config{Addr: p("10.0.0.2/24"), MAC: mac, Frag: FragConfig{BufSize: 575}}, "BufSize 575"},
		{"frag bufsize big", Config{Addr: p("10.0.0.2/24"), MAC: mac, Frag: FragConfig{BufSize: 65536}}, "BufSize 65536"},
		{"frag buffers", Config{Addr: p("10.0.0.2/24"), MAC: mac, Frag: FragConfig{Buffers: 5000}}, "Buffers 5000"},
		{"frag buffers over mem", Config{Addr: p("10.0.0.2/24"), MAC: mac, Frag: FragConfig{Buffers: 64}}, "exceeds Frag.MemLimit"},
		{"icmp burst", Config{Addr: p("10.0.0.2/24"), MAC: mac, ICMP: ICMPConfig{ErrorBurst: -1}}, "ErrorBurst"},
	}
	for _, c := range cases {
		_, err := New(c.cfg)
		if err == nil {
			t.Errorf("%s: New accepted %+v", c.name, c.cfg)
			continue
		}
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want ErrConfig mentioning %q", c.name, err, c.want)
		}
	}
}

func TestConfigValidEdges(t *testing.T) {
	mac := [6]byte(macA)
	for _, pfx := range []string{"10.0.0.0/31", "10.0.0.1/31", "10.0.0.5/32", "10.0.0.2/24"} {
		if _, err := New(Config{Addr: netip.MustParsePrefix(pfx), MAC: mac, MTU: 68}); err != nil {
			t.Errorf("%s rejected: %v", pfx, err)
		}
	}
}
