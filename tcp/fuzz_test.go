package tcp

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/tcp/seqnum"
	"github.com/ustack/ustack/wire"
)

// FuzzConnInput drives an established connection with arbitrary segments,
// writes, reads, closes and clock jumps. It must never panic, must keep
// its sequence invariants and must not leak a frame buffer.
func FuzzConnInput(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0x10, 0xff, 0xff, 10, 0, 0, 0, 0})
	f.Add([]byte{0, 5, 0, 0, 0x04, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x12, 0, 0, 0, 2, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 1, 0x19, 0, 1, 200, 3, 1, 0, 0, 1, 0, 0, 1, 0x11, 0, 0, 0, 4, 9, 9, 9})
	f.Fuzz(fuzzBody)
}

func fuzzBody(t *testing.T, data []byte) {
	{
		pool := link.MustPool(link.PoolConfig{Count: 64})
		var now time.Duration
		cfg := Linux()
		cfg.RcvBuf = 8192
		cfg.SndBuf = 4096
		if len(data) > 64*12 {
			data = data[:64*12]
		}
		out := &countOut{}
		c, err := Dial(now, cfg, Tuple{Local: addrA, Remote: addrB}, 100, out)
		if err != nil {
			t.Fatal(err)
		}
		syn := Segment{Seq: 300, Ack: 101, Flags: flagSYN | flagACK, Window: 65535}
		syn.Opts = wire.TCPOptions{HasMSS: true, MSS: 1000, SACKPermitted: true, HasTS: true, TSVal: 5, HasWScale: true, WScale: 3}
		c.Input(now, &syn, nil, out)
		var prevRight seqnum.Value
		haveRight, lastN := false, 0
		rb := make([]byte, 255*12)
		wb := make([]byte, 2550)
		for len(data) >= 12 {
			r := data[:12]
			data = data[12:]
			switch r[11] & 7 {
			case 1:
				c.Write(now, wb[:int(r[0])*10], out)
			case 2:
				c.Read(rb[:int(r[1])*12], now, out)
			case 3:
				now += time.Duration(binary.BigEndian.Uint16(r[2:])) * time.Millisecond
				c.OnTimer(now, out)
			case 4:
				c.Close(now, out)
			case 5:
				c.CloseWrite(now, out)
			}
			seg := Segment{
				Seq:    c.rcvNxt + seqnum.Value(int32(int16(binary.BigEndian.Uint16(r[0:])))),
				Ack:    c.sndUna + seqnum.Value(int32(int16(binary.BigEndian.Uint16(r[2:])))),
				Flags:  wire.TCPFlags(r[4]),
				Window: binary.BigEndian.Uint16(r[5:]),
			}
			if r[9]&1 != 0 {
				seg.Opts.HasTS, seg.Opts.TSVal, seg.Opts.TSEcr = true, uint32(r[9])<<20|uint32(r[10]), c.tsNow(now)
			}
			if r[10]&1 != 0 {
				seg.Opts.NumSACK = 1
				seg.Opts.SACK[0] = wire.SACKBlock{Left: uint32(c.sndUna), Right: uint32(c.sndUna) + uint32(r[8])*100}
			}
			var b *link.Buf
			if n := int(r[7]) * 8; n > 0 {
				b = pool.Get()
				if b == nil {
					t.Fatal("fuzz pool exhausted: buffers leaked")
				}
				seg.Payload = b.Extend(n)
			}
			c.Input(now, &seg, b, out)
			if out.n != lastN && out.last.Flags&flagACK != 0 && out.last.Flags&(flagSYN|flagRST) == 0 {
				// The advertised right edge never moves left (RFC 9293
				// §3.8.6.2.2: shrinking the window is discouraged).
				right := seqnum.Value(out.last.Ack).Add(seqnum.Size(uint32(out.last.Window) << c.rcvWscale))
				if haveRight && right.LessThan(prevRight) {
					t.Fatalf("window shrank: right edge %d after %d", right, prevRight)
				}
				prevRight, haveRight = right, true
			}
			lastN = out.n
			if c.sndUna.GreaterThan(c.sndNxt) || c.sndNxt.GreaterThan(c.sndMax) || c.rcvQ.n < 0 || c.ring.n < 0 || c.ring.n > c.ring.size {
				t.Fatalf("invariants: una %d nxt %d max %d rcvq %d ring %d", c.sndUna, c.sndNxt, c.sndMax, c.rcvQ.n, c.ring.n)
			}
			if at, ok := c.Deadline(); ok && at < now-time.Hour {
				t.Fatalf("deadline %v far in the past (now %v)", at, now)
			}
		}
		c.Abort(now, out)
		c.rcvQ.free()
		c.ooo.Reset()
		if pool.InUse() != 0 {
			t.Fatalf("%d buffers leaked", pool.InUse())
		}
	}
}

// FuzzListenerInput throws arbitrary segments from a few peers at a small
// listener (so the SYN queue overflows into cookies) and drives the
// connections it hands out. No panic, no leaked buffer.
func FuzzListenerInput(f *testing.F) {
	f.Add([]byte{0x02, 0, 0, 0, 1, 0, 0, 0, 0, 0x10, 0, 0, 0, 2, 0, 0, 0, 0})
	f.Add([]byte{0x02, 1, 0, 0, 1, 0, 0, 0, 0, 0x02, 2, 0, 0, 1, 0, 0, 0, 0, 0x10, 2, 0, 0, 2, 0, 0, 0, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		pool := link.MustPool(link.PoolConfig{Count: 32})
		cfg := Linux()
		cfg.SynQueue, cfg.Backlog = 2, 2
		out := &countOut{}
		l, err := NewListener(cfg, addrB, NewSecrets([16]byte{7}))
		if err != nil {
			t.Fatal(err)
		}
		var now time.Duration
		conns := map[Tuple]*Conn{}
		if len(data) > 64*9 {
			data = data[:64*9]
		}
		for len(data) >= 9 {
			r := data[:9]
			data = data[9:]
			remote := addrA
			if r[1]&3 != 0 {
				remote = netip.AddrPortFrom(addrA.Addr(), 40000+uint16(r[1]&3))
			}
			seg := Segment{Flags: wire.TCPFlags(r[0]), Window: 1000}
			seg.Seq = seqnum.Value(binary.BigEndian.Uint16(r[2:]))
			seg.Ack = seqnum.Value(binary.BigEndian.Uint32(r[4:]))
			if r[1]&4 != 0 {
				seg.Opts = wire.TCPOptions{HasMSS: true, MSS: 1200, HasTS: true, TSVal: uint32(r[8]), HasWScale: true, WScale: r[8] & 15, SACKPermitted: true}
			}
			if r[1]&8 != 0 {
				// Complete a cookie or half-open handshake properly.
				seg.Ack = seqnum.Value(out.last.Seq + 1)
				seg.Opts.TSEcr = 0
			}
			var b *link.Buf
			if n := int(r[8]) & 0x3f; n > 0 {
				b = pool.Get()
				if b == nil {
					t.Fatal("pool exhausted: leak")
				}
				seg.Payload = b.Extend(n)
			}
			tup := Tuple{Local: addrB, Remote: remote}
			if c := conns[tup]; c != nil && c.State() != Closed {
				c.Input(now, &seg, b, out)
			} else if c := l.Input(now, addrB, remote, &seg, b, out); c != nil {
				conns[tup] = c
			}
			now += time.Duration(r[1]>>4) * 300 * time.Millisecond
			l.OnTimer(now, out)
			for l.Accept() != nil {
			}
		}
		for _, c := range conns {
			c.Abort(now, out)
			c.rcvQ.free()
		}
		l.Close(now, out)
		if pool.InUse() != 0 {
			t.Fatalf("%d buffers leaked", pool.InUse())
		}
	})
}
