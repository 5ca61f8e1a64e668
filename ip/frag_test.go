package ip

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

type frag struct {
	off, n int
	mf     bool
}

// fragFrame is one fragment of datagram id from B to A carrying
// payload[off:off+n].
func fragFrame(id uint16, payload []byte, f frag) []byte {
	return eth(macA, macB, wire.EtherTypeIPv4,
		ipv4(ipOpts{id: id, proto: 17, src: addrB, dst: addrA, off: f.off, mf: f.mf}, payload[f.off:f.off+f.n]))
}

func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i>>8)
	}
	return p
}

func TestReassemblyInOrderAndOutOfOrder(t *testing.T) {
	payload := pattern(1000)
	frags := []frag{{0, 304, true}, {304, 304, true}, {608, 200, true}, {808, 192, false}}
	perm := [][]int{}
	var gen func([]int, []bool)
	gen = func(p []int, used []bool) {
		if len(p) == len(frags) {
			perm = append(perm, append([]int(nil), p...))
			return
		}
		for i := range frags {
			if !used[i] {
				used[i] = true
				gen(append(p, i), used)
				used[i] = false
			}
		}
	}
	gen(nil, make([]bool, len(frags)))
	c := newCollector(t)
	h := hostA(t, nil)
	s := &sink{}
	h.Register(17, s)
	for k, order := range perm {
		for _, i := range order {
			h.Input(0, bufOf(t, c.pool, fragFrame(uint16(k), payload, frags[i])), c)
		}
		if len(s.pkts) != k+1 || !bytes.Equal(s.data[k], payload) || !s.pkts[k].Reassembled || s.pkts[k].ID != uint16(k) {
			t.Fatalf("order %v: %d deliveries, data ok %v", order, len(s.pkts), len(s.data) > k && bytes.Equal(s.data[k], payload))
		}
	}
	if cn := h.Counters(); cn.ReasmOKs != uint64(len(perm)) || cn.ReasmReqds != uint64(4*len(perm)) || cn.ReasmFails != 0 {
		t.Fatalf("counters %+v", cn)
	}
	if _, ok := h.NextDeadline(); ok {
		// The armed timeout may remain; ticking it must find nothing.
		h.Tick(time.Minute, c)
		if h.Counters().ReasmTimeout != 0 {
			t.Fatal("completed datagram timed out")
		}
	}
	checkPool(t, c.pool, 0)
}

func TestReassemblyDuplicateAndOverlap(t *testing.T) {
	payload := pattern(64)
	c := newCollector(t)
	h := hostA(t, nil)
	s := &sink{}
	h.Register(17, s)
	in := func(id uint16, f frag) { h.Input(0, bufOf(t, c.pool, fragFrame(id, payload, f)), c) }
	// Exact duplicate: ignored, the datagram still completes.
	in(1, frag{0, 32, true})
	in(1, frag{0, 32, true})
	in(1, frag{32, 32, false})
	in(1, frag{32, 32, false}) // after completion: starts a new datagram
	if len(s.pkts) != 1 || !bytes.Equal(s.data[0], payload) || h.Counters().ReasmDuplicates != 1 {
		t.Fatalf("duplicate handling: %d deliveries, %+v", len(s.pkts), h.Counters())
	}
	// Overlap: the whole datagram goes.
	in(2, frag{0, 32, true})
	in(2, frag{24, 40, false})
	in(2, frag{32, 32, false}) // a later fragment starts afresh and never completes
	if len(s.pkts) != 1 || h.Counters().ReasmOverlaps != 1 || h.Counters().ReasmFails != 1 {
		t.Fatalf("overlap: %d deliveries, %+v", len(s.pkts), h.Counters())
	}
	// Inconsistent lengths: two different last fragments.
	in(3, frag{16, 16, false})
	in(3, frag{32, 16, true}) // beyond the known end
	if h.Counters().ReasmBadLen != 1 {
		t.Fatalf("bad length not counted: %+v", h.Counters())
	}
	h.Tick(time.Hour, c)
	checkPool(t, c.pool, 0)
}

// Timeout: the datagram is dropped after Frag.Timeout; with its first
// fragment held, ICMP time exceeded (code 1) quotes it (RFC 1122 3.3.2).
func TestReassemblyTimeout(t *testing.T) {
	payload := pattern(64)
	c := newCollector(t)
	h := hostA(t, nil)
	learnB(t, h, 0, c)
	h.Register(17, &sink{})
	h.Input(time.Second, bufOf(t, c.pool, fragFrame(9, payload, frag{0, 32, true})), c)
	h.Input(2*time.Second, bufOf(t, c.pool, fragFrame(10, payload, frag{32, 32, false})), c)
	d, ok := h.NextDeadline()
	if !ok || d > 31*time.Second {
		t.Fatalf("deadline %v %v", d, ok)
	}
	h.Tick(31*time.Second-1, c)
	if h.Counters().ReasmTimeout != 0 {
		t.Fatal("timed out early")
	}
	h.Tick(31*time.Second, c)
	f := c.take()
	if h.Counters().ReasmTimeout != 1 || len(f) != 1 {
		t.Fatalf("after 30s: %+v, %d frames", h.Counters(), len(f))
	}
	_, ip := parseSent(t, f[0])
	m, _ := wire.ParseICMPv4(ip.Payload())
	if ip.Dst() != addrB || m.Type() != 11 || m.Code() != 1 || !bytes.Equal(m.Body(), fragFrame(9, payload, frag{0, 32, true})[14:]) {
		t.Fatalf("time exceeded %x", f[0])
	}
	// The second datagram had no first fragment: dropped silently.
	h.Tick(32*time.Second, c)
	if h.Counters().ReasmTimeout != 2 || len(c.take()) != 0 || h.Counters().ReasmFails != 2 {
		t.Fatalf("second timeout: %+v", h.Counters())
	}
	checkPool(t, c.pool, 0)
}

func TestReassemblyLimits(t *testing.T) {
	payload := pattern(64)
	c := newCollector(t)
	bs := c.pool.BufSize()
	h := hostA(t, func(c *Config) { c.Frag.MemLimit = 4 * bs; c.Frag.MaxDatagrams = 2; c.Frag.NoTimeExceeded = true })
	s := &sink{}
	h.Register(17, s)
	in := func(now time.Duration, id uint16, f frag) {
		h.Input(now, bufOf(t, c.pool, fragFrame(id, payload, f)), c)
	}
	// Memory: datagram 1 holds one buffer, datagram 2 three; its last
	// fragment would exceed 4 buffers, so datagram 1 (oldest) goes.
	in(0, 1, frag{0, 16, true})
	in(1, 2, frag{0, 16, true})
	in(2, 2, frag{16, 16, true})
	in(3, 2, frag{32, 16, true})
	checkPool(t, c.pool, 4)
	in(4, 2, frag{48, 16, false})
	if h.Counters().ReasmEvicted != 1 || h.frag.find(a4(addrB), a4(addrA), 1, 17) != nil {
		t.Fatalf("memory limit: %+v", h.Counters())
	}
	if len(s.pkts) != 1 || !bytes.Equal(s.data[0], payload) {
		t.Fatal("datagram 2 not completed")
	}
	checkPool(t, c.pool, 0)
	// One datagram alone over the limit fails.
	for i := range 5 {
		in(5, 6, frag{8 * i, 8, true})
	}
	if h.Counters().ReasmEvicted != 2 || h.frag.busy != 0 {
		t.Fatalf("oversized datagram: %+v", h.Counters())
	}
	// Slots: a third concurrent datagram evicts the oldest.
	in(5, 3, frag{0, 16, true})
	in(6, 4, frag{0, 16, true})
	in(7, 5, frag{0, 16, true})
	if h.Counters().ReasmEvicted != 3 || h.frag.find(a4(addrB), a4(addrA), 3, 17) != nil {
		t.Fatalf("slot limit: %+v", h.Counters())
	}
	h.Tick(time.Hour, c)
	checkPool(t, c.pool, 0)
}

// Without a reassembly pool, a datagram bigger than its first fragment's
// buffer cannot be reassembled; nor, with one, a datagram bigger than the
// pool's buffers too.
func TestReassemblyTooBig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mod   func(*Config)
		frags []frag
	}{
		{"no pool", func(c *Config) { c.Frag.Buffers = -1 }, []frag{{0, 200, true}, {200, 200, false}}},
		{"pool too small", func(c *Config) { c.Frag.BufSize = 600 }, []frag{{0, 200, true}, {200, 200, true}, {400, 200, false}}},
	} {
		pool := link.MustPool(link.PoolConfig{Count: 16, Size: 256, Headroom: 64})
		c := &collector{pool: pool}
		h := hostA(t, tc.mod)
		h.Register(17, &sink{})
		payload := pattern(600)
		for _, f := range tc.frags {
			h.Input(0, bufOf(t, pool, fragFrame(1, payload, f)), c)
		}
		if cn := h.Counters(); cn.ReasmTooBig != 1 || cn.ReasmFails != 1 || cn.InDiscards != 1 || cn.InDelivers != 0 || cn.ReasmNoBuffer != 0 {
			t.Fatalf("%s: counters %+v", tc.name, cn)
		}
		checkPool(t, pool, 0)
		if p := h.ReasmPool(); p != nil {
			checkPool(t, p, 0)
		}
	}
}

// Outbound fragmentation round-trips through reassembly on another host,
// for several MTUs and sizes, in order and shuffled.
func TestFragmentationRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, mtu := range []int{68, 576, 1280, 1500} {
		for _, size := range []int{mtu - 20, mtu - 19, mtu + 1, 1000, 1900} {
			if size+20 <= mtu && size != mtu-20 {
				continue
			}
			c := newCollector(t)
			a := hostA(t, func(c *Config) { c.MTU = mtu })
			learnB(t, a, 0, c)
			c.take()
			payload := pattern(size)
			if err := a.Output(0, addrB, 17, bufOf(t, c.pool, payload), c); err != nil {
				t.Fatalf("mtu %d size %d: %v", mtu, size, err)
			}
			frames := c.take()
			wantN := 1
			if size+20 > mtu {
				chunk := (mtu - 20) &^ 7
				wantN = (size + chunk - 1) / chunk
			}
			if len(frames) != wantN {
				t.Fatalf("mtu %d size %d: %d frames, want %d", mtu, size, len(frames), wantN)
			}
			for _, f := range frames {
				_, ip := parseSent(t, f)
				if len(ip) > mtu {
					t.Fatalf("mtu %d: %d-byte fragment", mtu, len(ip))
				}
				if wantN > 1 && ip.DontFragment() {
					t.Fatal("fragment with DF")
				}
			}
			if wantN > 1 {
				rng.Shuffle(len(frames), func(i, j int) { frames[i], frames[j] = frames[j], frames[i] })
			}
			b := hostB(t)
			s := &sink{}
			b.Register(17, s)
			for _, f := range frames {
				b.Input(0, bufOf(t, c.pool, f), c)
			}
			if len(s.pkts) != 1 || !bytes.Equal(s.data[0], payload) || s.pkts[0].Reassembled != (wantN > 1) {
				t.Fatalf("mtu %d size %d: %d deliveries", mtu, size, len(s.pkts))
			}
			if wantN > 1 {
				if cn := a.Counters(); cn.FragOKs != 1 || cn.FragCreates != uint64(wantN) {
					t.Fatalf("counters %+v", cn)
				}
			}
			checkPool(t, c.pool, 0)
		}
	}
}

func TestFragmentationRefusedWithDF(t *testing.T) {
	c := newCollector(t)
	a := hostA(t, func(c *Config) { c.MTU = 576 })
	for _, tc := range []struct {
		proto uint8
		o     Opts
	}{{wire.ProtoTCP, Opts{}}, {17, Opts{DF: DFDo}}} {
		err := a.OutputOpts(0, addrB, tc.proto, bufOf(t, c.pool, make([]byte, 600)), tc.o, c)
		if !errors.Is(err, ErrMsgSize) {
			t.Fatalf("proto %d opts %+v: %v, want ErrMsgSize", tc.proto, tc.o, err)
		}
	}
	if a.Counters().FragFails != 2 {
		t.Fatal("FragFails")
	}
	// DFDont: no DF even on a small datagram.
	learnB(t, a, 0, c)
	c.take()
	a.OutputOpts(0, addrB, 17, bufOf(t, c.pool, make([]byte, 8)), Opts{DF: DFDont, TTL: 3, TOS: 0x10}, c)
	_, ip := parseSent(t, c.take()[0])
	if ip.DontFragment() || ip.TTL() != 3 || ip.TOS() != 0x10 {
		t.Fatalf("opts not applied: %x", []byte(ip[:20]))
	}
	checkPool(t, c.pool, 0)
}

func hostB(t testing.TB) *Host {
	h, err := New(Config{Addr: netip.PrefixFrom(addrB, 24), MAC: macB, Gateway: addrGW})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// refReasm is the slow, obvious model: fragments as intervals; exact
// duplicates ignored; any other overlap drops everything; complete when
// the last fragment is known and the intervals cover it.
type refReasm struct {
	have  []frag
	total int
}

func (r *refReasm) add(f frag) (done, dropped bool) {
	if f.off == 0 && !f.mf {
		return true, false // not a fragment at all
	}
	end := f.off + f.n
	for _, g := range r.have {
		if g.off == f.off && g.n == f.n {
			if g.mf != f.mf { // same bytes, conflicting "last" claims
				*r = refReasm{total: -1}
				return false, true
			}
			return false, false
		}
		if f.off < g.off+g.n && g.off < end {
			*r = refReasm{total: -1}
			return false, true
		}
	}
	if !f.mf {
		if r.total >= 0 && r.total != end {
			*r = refReasm{total: -1}
			return false, true
		}
		for _, g := range r.have {
			if g.off+g.n > end {
				*r = refReasm{total: -1}
				return false, true
			}
		}
		r.total = end
	} else if r.total >= 0 && end > r.total {
		*r = refReasm{total: -1}
		return false, true
	}
	r.have = append(r.have, f)
	if r.total < 0 {
		return false, false
	}
	sum := 0
	for _, g := range r.have {
		sum += g.n
	}
	if sum == r.total {
		*r = refReasm{total: -1}
		return true, false
	}
	return false, false
}

// Random fragment streams (with duplicates and overlaps) give the same
// deliveries as the reference model.
func TestReassemblyMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	c := newCollector(t)
	h := hostA(t, func(c *Config) { c.Frag.NoTimeExceeded = true })
	s := &sink{}
	h.Register(17, s)
	payload := pattern(512)
	delivered := 0
	for iter := range 400 {
		ref := refReasm{total: -1}
		id := uint16(iter)
		total := 8 * (1 + rng.IntN(64))
		var frags []frag
		for off := 0; off < total; {
			n := min(total-off, 8*(1+rng.IntN(16)))
			frags = append(frags, frag{off, n, off+n < total})
			off += n
		}
		// Noise: duplicates and overlapping pieces.
		for range rng.IntN(3) {
			switch g := frags[rng.IntN(len(frags))]; rng.IntN(2) {
			case 0:
				frags = append(frags, g)
			case 1:
				off := 8 * rng.IntN(total/8)
				n := min(total-off, 8*(1+rng.IntN(8)))
				frags = append(frags, frag{off, n, off+n < total})
			}
		}
		rng.Shuffle(len(frags), func(i, j int) { frags[i], frags[j] = frags[j], frags[i] })
		want := 0
		for _, f := range frags {
			if done, _ := ref.add(f); done {
				want++
			}
			h.Input(0, bufOf(t, c.pool, fragFrame(id, payload, f)), c)
		}
		delivered += want
		if len(s.pkts) != delivered {
			t.Fatalf("iteration %d (%v): %d deliveries, reference %d", iter, frags, len(s.pkts), delivered)
		}
		for k := len(s.data) - want; k < len(s.data); k++ {
			if !bytes.Equal(s.data[k], payload[:total]) {
				t.Fatalf("iteration %d: wrong data", iter)
			}
		}
		h.Tick(time.Duration(iter+1)*time.Hour, c) // expire leftovers
	}
	cn := h.Counters()
	if cn.ReasmOverlaps == 0 || cn.ReasmDuplicates == 0 || cn.ReasmOKs == 0 || cn.ReasmTimeout == 0 {
		t.Fatalf("the random streams did not exercise every outcome: %+v", cn)
	}
	t.Logf("delivered %d; reassembled %d, overlaps %d, duplicates %d, bad length %d, timeouts %d",
		delivered, cn.ReasmOKs, cn.ReasmOverlaps, cn.ReasmDuplicates, cn.ReasmBadLen, cn.ReasmTimeout)
	checkPool(t, c.pool, 0)
}

// A GSO super-segment is left for the link to cut.
func TestGSOBypassesMTU(t *testing.T) {
	c := newCollector(t)
	a := hostA(t, nil)
	learnB(t, a, 0, c)
	c.take()
	b := bufOf(t, c.pool, make([]byte, 1600))
	b.Flags |= link.FlagGSO
	b.GSOSize = 1448
	if err := a.Output(0, addrB, wire.ProtoTCP, b, c); err != nil {
		t.Fatal(err)
	}
	f := c.take()
	if _, ip := parseSent(t, f[0]); len(f) != 1 || len(ip) != 1620 || !ip.DontFragment() {
		t.Fatalf("%d frames", len(f))
	}
}

// A UDP datagram with a partial (offloaded) checksum is completed before
// it is cut into fragments.
func TestFragmentationCompletesPartialChecksum(t *testing.T) {
	c := newCollector(t)
	a := hostA(t, func(c *Config) { c.MTU = 576 })
	learnB(t, a, 0, c)
	c.take()
	dgram := make([]byte, 1200)
	copy(dgram[8:], pattern(1192))
	wire.PutUDPHeader(dgram, 1000, 2000, 1192)
	pseudo := wire.Fold(wire.PseudoHeaderSum4(addrA.As4(), addrB.As4(), 17, 1200))
	dgram[6], dgram[7] = byte(^pseudo>>8), byte(^pseudo) // the folded, uncomplemented pseudo-header sum
	b := bufOf(t, c.pool, dgram)
	b.Flags |= link.FlagCsumPartial
	if err := a.Output(0, addrB, 17, b, c); err != nil {
		t.Fatal(err)
	}
	bh := hostB(t)
	s := &sink{}
	bh.Register(17, s)
	for _, f := range c.take() {
		bh.Input(0, bufOf(t, c.pool, f), c)
	}
	if len(s.data) != 1 {
		t.Fatal("not reassembled")
	}
	u, err := wire.ParseUDP(s.data[0])
	if err != nil || !u.ChecksumValid4(addrA.As4(), addrB.As4()) {
		t.Fatalf("UDP checksum not valid after fragmentation: %v", err)
	}
}
