package afpacket_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/afpacket"
	"github.com/ustack/ustack/wire"
)

// TestFanoutSpreadsByFlow: two sockets in one PACKET_FANOUT hash group
// share the interface's traffic; every frame of a flow lands on the same
// socket, and nothing is lost or duplicated.
func TestFanoutSpreadsByFlow(t *testing.T) {
	w := newWorld(t)
	q0 := w.open(t, w.stack, w.stackIf, afpacket.WithFanout(42))
	q1 := w.open(t, w.stack, w.stackIf, afpacket.WithFanout(42))
	tx := w.open(t, w.kernel, w.kerIf)
	t.Cleanup(func() { q0.Close(); q1.Close(); tx.Close() })

	const flows, perFlow = 16, 8
	out := make([]*link.Buf, 0, flows)
	for round := 0; round < perFlow; round++ {
		out = out[:0]
		for f := 0; f < flows; f++ {
			out = append(out, udp(t, tx, q0.HardwareAddr(), uint16(10000+f), uint16(round)))
		}
		if n := tx.Send(out); n != len(out) {
			t.Fatalf("Send took %d of %d", n, len(out))
		}
	}
	owner := map[uint16]int{}
	seen := map[[2]uint16]bool{}
	per := [2]int{}
	bufs := make([]*link.Buf, 32)
	deadline := time.Now().Add(2 * time.Second)
	for len(seen) < flows*perFlow && time.Now().Before(deadline) {
		idle := true
		for qi, q := range []*afpacket.Link{q0, q1} {
			n := q.Recv(bufs)
			for _, b := range bufs[:n] {
				d := b.Bytes()
				if len(d) >= 44 && binary.BigEndian.Uint16(d[12:]) == 0x0800 && d[23] == 17 {
					port, seq := binary.BigEndian.Uint16(d[34:]), binary.BigEndian.Uint16(d[42:])
					if o, ok := owner[port]; ok && o != qi {
						t.Errorf("flow %d seen on both sockets", port)
					}
					owner[port] = qi
					k := [2]uint16{port, seq}
					if seen[k] {
						t.Errorf("flow %d frame %d delivered twice", port, seq)
					}
					seen[k] = true
					per[qi]++
				}
				b.Free()
			}
			if n > 0 {
				idle = false
			}
		}
		if idle {
			waitReadable(q0, 5*time.Millisecond)
		}
	}
	if len(seen) != flows*perFlow {
		t.Fatalf("received %d of %d frames", len(seen), flows*perFlow)
	}
	if per[0] == 0 || per[1] == 0 {
		t.Logf("all %d flows hashed to one socket (%v): possible but unlikely", flows, per)
	}
	t.Logf("frames per socket: %v", per)
}

// udp builds Ethernet/IPv4/UDP from 10.77.0.1:sport to 10.77.0.2:9 with a
// 2-byte payload seq.
func udp(t testing.TB, l link.Link, dst [6]byte, sport, seq uint16) *link.Buf {
	b := l.Pool().Get()
	if b == nil {
		t.Fatal("pool empty")
	}
	d := b.Extend(14 + 20 + 8 + 2)
	src := l.HardwareAddr()
	copy(d, dst[:])
	copy(d[6:], src[:])
	binary.BigEndian.PutUint16(d[12:], 0x0800)
	ip := d[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], 30)
	copy(ip[12:], []byte{10, 77, 0, 1, 10, 77, 0, 2})
	binary.BigEndian.PutUint16(ip[10:], wire.Checksum(ip[:20]))
	u := ip[20:]
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], 9)
	binary.BigEndian.PutUint16(u[4:], 10)
	binary.BigEndian.PutUint16(u[8:], seq)
	return b
}
