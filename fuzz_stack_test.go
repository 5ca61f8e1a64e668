package ustack_test

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/mem"
	"github.com/ustack/ustack/wire"
)

// seedFrame builds a valid Ethernet/IPv4 frame from the peer to the stack.
func seedFrame(proto uint8, l4 []byte) []byte {
	f := make([]byte, 14+20+len(l4))
	wire.PutEthernet(f, mem.DefaultMACA, mem.DefaultMACB, wire.EtherTypeIPv4)
	src, dst := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1")
	wire.PutIPv4(f[14:], &wire.IPv4Header{TotalLen: uint16(20 + len(l4)), TTL: 64, Protocol: proto, Src: src, Dst: dst})
	copy(f[34:], l4)
	switch proto {
	case wire.ProtoTCP:
		wire.TCP(f[34:]).SetChecksum4(src.As4(), dst.As4())
	case wire.ProtoICMP:
		binary.BigEndian.PutUint16(f[36:], 0)
		binary.BigEndian.PutUint16(f[36:], wire.Checksum(f[34:]))
	}
	return f
}

func seedSYN(opts *wire.TCPOptions, flags wire.TCPFlags, payload []byte) []byte {
	l4 := make([]byte, 60+len(payload))
	n, err := wire.PutTCP(l4, &wire.TCPHeader{SrcPort: 40000, DstPort: 80, Seq: 1000, Ack: 1, Flags: flags, Window: 65535}, opts)
	if err != nil {
		panic(err)
	}
	n += copy(l4[n:], payload)
	return seedFrame(wire.ProtoTCP, l4[:n])
}

// FuzzStackInput feeds arbitrary frames through the whole receive path of
// a stack with a TCP listener, a UDP socket and a live connection: it must
// never panic, whatever arrives.
func FuzzStackInput(f *testing.F) {
	arp := make([]byte, 14+28)
	wire.PutEthernet(arp, wire.BroadcastMAC(), mem.DefaultMACB, wire.EtherTypeARP)
	wire.PutARP(arp[14:], wire.ARPRequest, mem.DefaultMACB, netip.MustParseAddr("10.0.0.2"), wire.MAC{}, netip.MustParseAddr("10.0.0.1"))
	f.Add(arp)
	echo := make([]byte, 16)
	wire.PutICMPv4Echo(echo, wire.ICMPv4Echo, 1, 1, []byte("abcdefgh"))
	f.Add(seedFrame(wire.ProtoICMP, echo))
	f.Add(seedSYN(&wire.TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTS: true, TSVal: 5, HasWScale: true, WScale: 7}, wire.TCPFlagSYN, nil))
	f.Add(seedSYN(nil, wire.TCPFlagACK|wire.TCPFlagPSH, []byte("hello")))
	f.Add(seedSYN(nil, wire.TCPFlagRST, nil))
	f.Add(seedSYN(&wire.TCPOptions{HasTS: true, TSVal: 1, NumSACK: 2, SACK: [4]wire.SACKBlock{{Left: 5, Right: 9}, {Left: 20, Right: 30}}}, wire.TCPFlagACK, nil))
	udp := make([]byte, 12)
	wire.PutUDPHeader(udp, 5000, 53, 4)
	f.Add(seedFrame(wire.ProtoUDP, udp))

	f.Fuzz(func(t *testing.T, frame []byte) {
		// A hang is a bug too: crash the worker so the fuzzer keeps the input.
		watchdog := time.AfterFunc(10*time.Second, func() { panic("FuzzStackInput: input took over 10 s (a loop that never ends?)") })
		defer watchdog.Stop()
		la, lb := mem.Pair(mem.WithPool(link.PoolConfig{Count: 64}))
		var now time.Duration
		s, err := ustack.New(ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24"), Manual: true, Clock: clockFunc(func() time.Duration { return now })})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.ListenEvents(80, echoServer{}); err != nil {
			t.Fatal(err)
		}
		// The frame arrives twice, a second apart, to reach timer paths.
		for i := 0; i < 2; i++ {
			if len(frame) > lb.Pool().BufSize() {
				return
			}
			b := lb.Pool().Get()
			copy(b.Extend(len(frame)), frame)
			if lb.Send([]*link.Buf{b}) != 1 {
				b.Free()
			}
			s.Step(now)
			now += time.Second
			s.Step(now)
			drain(lb)
		}
	})
}

type clockFunc func() time.Duration

func (c clockFunc) Now() time.Duration { return c() }

func drain(l link.Link) {
	var bufs [32]*link.Buf
	for {
		n := l.Recv(bufs[:])
		for _, b := range bufs[:n] {
			b.Free()
		}
		if n == 0 {
			return
		}
	}
}
