package ip

import (
	"encoding/binary"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

// Reassembly (RFC 791 section 3.2, RFC 815). Each datagram in progress has
// a pre-allocated slot holding its fragments as an intrusive list of the
// received buffers sorted by offset (each buffer's data starts at the
// fragment's IPv4 header). When every byte has arrived, the payloads are
// copied behind the first fragment in its own buffer, which becomes the
// datagram; when the datagram does not fit there, header and payloads are
// copied into a buffer of the reassembly pool instead (Frag.BufSize,
// Frag.Buffers), which the transport frees like any other. Either way the
// payloads are copied once; the pool costs one more copy (the first
// fragment) and a Get, so it is used only when needed: datagrams that fit
// keep the cheaper path and leave the few large buffers to those that do
// not (BenchmarkReassembly, 8000 bytes in 6 fragments: about 4.2 µs in
// place, 5.3 µs through the pool; no allocation either way).
//
// Overlaps: a fragment that exactly repeats one already held is dropped as
// a duplicate; any other overlap drops the whole datagram, the policy RFC
// 5722 mandates for IPv6 and Linux applies to IPv4, because overlapping
// fragments are only ever produced by attacks on middlebox inspection.
type reassembler struct {
	slots []fragSlot
	pool  *link.Pool // large datagrams; nil when Frag.Buffers < 0
	mem   int        // bytes pinned by held fragments (whole buffers)
	busy  int
}

type fragSlot struct {
	inUse    bool
	src, dst uint32
	id       uint16
	proto    uint8
	start    time.Duration // first fragment's arrival
	head     *link.Buf
	total    int // payload length, known once the last fragment arrived; -1 before
	have     int // payload bytes held
	mem      int
}

func newReassembler(f *FragConfig) (reassembler, error) {
	r := reassembler{slots: make([]fragSlot, f.MaxDatagrams)}
	if f.Buffers > 0 {
		p, err := link.NewPool(link.PoolConfig{Count: f.Buffers, Size: f.BufSize, Headroom: FragBufHeadroom})
		if err != nil {
			return r, cfgErr("Frag: reassembly pool: %w", err)
		}
		r.pool = p
	}
	return r, nil
}

// fragInfo reads the offset, payload length and MF of a held fragment.
func fragInfo(b *link.Buf) (off, n int, mf bool) {
	p := wire.IPv4(b.Bytes())
	return p.FragOffset(), b.Len() - p.HeaderLen(), p.MoreFragments()
}

// bufCost is what a held fragment counts against MemLimit: the whole
// buffer it pins.
func bufCost(b *link.Buf) int { return b.Pool().BufSize() }

// reassemble takes a fragment (b's data is the datagram; header valid) and
// returns the whole datagram once complete, else nil (b was kept or
// freed).
func (h *Host) reassemble(now time.Duration, b *link.Buf, ip wire.IPv4, out Output) *link.Buf {
	hl := ip.HeaderLen()
	off := ip.FragOffset()
	n := b.Len() - hl
	end := off + n
	mf := ip.MoreFragments()
	if (mf && (n == 0 || n&7 != 0)) || hl+end > wire.IPv4MaxTotalLen {
		h.c.InBadFragment++
		h.c.InHdrErrors++
		b.Free()
		return nil
	}
	h.c.ReasmReqds++
	r := &h.frag
	src, dst := b4(ip.Src4()), b4(ip.Dst4())
	id, proto := ip.ID(), ip.Protocol()
	s := r.find(src, dst, id, proto)
	if s == nil {
		s = h.newFragSlot(now)
		s.src, s.dst, s.id, s.proto = src, dst, id, proto
		s.start = now
		h.arm(now + h.cfg.Frag.Timeout)
	}
	// Length consistency: the last fragment fixes the total.
	if !mf && (s.total >= 0 && s.total != end || s.total < 0 && s.maxEnd() > end) ||
		mf && s.total >= 0 && end > s.total {
		h.c.ReasmBadLen++
		h.dropDatagram(s)
		b.Free()
		return nil
	}
	// Find the insertion point: prev is the last fragment starting
	// before off (or at it).
	var prev *link.Buf
	cur := s.head
	for cur != nil {
		coff, _, _ := fragInfo(cur)
		if coff > off {
			break
		}
		prev, cur = cur, cur.Next
	}
	if prev != nil {
		poff, pn, pmf := fragInfo(prev)
		if poff == off && pn == n {
			if pmf != mf { // the same bytes, once last and once not
				h.c.ReasmBadLen++
				h.dropDatagram(s)
				b.Free()
				return nil
			}
			h.c.ReasmDuplicates++
			b.Free()
			return nil
		}
		if poff+pn > off {
			h.overlap(s, b)
			return nil
		}
	}
	if cur != nil {
		coff, _, _ := fragInfo(cur)
		if coff < end {
			h.overlap(s, b)
			return nil
		}
	}
	if !mf {
		s.total = end
	}
	cost := bufCost(b)
	for r.mem+cost > h.cfg.Frag.MemLimit {
		v := r.oldest(s)
		if v == nil {
			// This datagram alone exceeds the limit.
			h.c.ReasmEvicted++
			h.c.InDiscards++
			h.dropDatagram(s)
			b.Free()
			return nil
		}
		h.c.ReasmEvicted++
		h.c.InDiscards++
		h.dropDatagram(v)
	}
	b.Next = cur
	if prev == nil {
		s.head = b
	} else {
		prev.Next = b
	}
	s.have += n
	s.mem += cost
	r.mem += cost
	if s.total < 0 || s.have != s.total {
		return nil
	}
	return h.assemble(s)
}

func (s *fragSlot) maxEnd() int {
	m := 0
	for b := s.head; b != nil; b = b.Next {
		off, n, _ := fragInfo(b)
		m = max(m, off+n)
	}
	return m
}

func (h *Host) overlap(s *fragSlot, b *link.Buf) {
	h.c.ReasmOverlaps++
	h.dropDatagram(s)
	b.Free()
}

func (r *reassembler) find(src, dst uint32, id uint16, proto uint8) *fragSlot {
	for i := range r.slots {
		s := &r.slots[i]
		if s.inUse && s.id == id && s.src == src && s.dst == dst && s.proto == proto {
			return s
		}
	}
	return nil
}

// oldest returns the oldest slot in use other than except, or nil.
func (r *reassembler) oldest(except *fragSlot) *fragSlot {
	var o *fragSlot
	for i := range r.slots {
		s := &r.slots[i]
		if s.inUse && s != except && (o == nil || s.start < o.start) {
			o = s
		}
	}
	return o
}

// newFragSlot returns a free slot, evicting the oldest datagram if none.
func (h *Host) newFragSlot(now time.Duration) *fragSlot {
	r := &h.frag
	var s *fragSlot
	for i := range r.slots {
		if !r.slots[i].inUse {
			s = &r.slots[i]
			break
		}
	}
	if s == nil {
		s = r.oldest(nil)
		h.c.ReasmEvicted++
		h.c.InDiscards++
		h.dropDatagram(s)
	}
	*s = fragSlot{inUse: true, total: -1}
	r.busy++
	return s
}

// dropDatagram frees every fragment of s and releases it, counting a
// reassembly failure.
func (h *Host) dropDatagram(s *fragSlot) {
	h.c.ReasmFails++
	h.release(s)
}

func (h *Host) release(s *fragSlot) {
	for b := s.head; b != nil; {
		next := b.Next
		b.Next = nil
		b.Free()
		b = next
	}
	h.frag.mem -= s.mem
	h.frag.busy--
	*s = fragSlot{}
}

// assemble joins the complete datagram s into its first fragment's buffer
// or, when it does not fit there, into a buffer of the reassembly pool.
func (h *Host) assemble(s *fragSlot) *link.Buf {
	first := s.head
	hl := wire.IPv4(first.Bytes()).HeaderLen()
	total := hl + s.total
	if total > wire.IPv4MaxTotalLen { // the first fragment's options pushed it over
		h.c.ReasmBadLen++
		h.dropDatagram(s)
		return nil
	}
	d := first // the datagram's buffer
	if first.Len()+first.Tailroom() < total {
		pool := h.frag.pool
		if pool == nil || total > pool.BufSize() {
			h.c.ReasmTooBig++
			h.c.InDiscards++
			h.dropDatagram(s)
			return nil
		}
		if d = pool.Get(); d == nil {
			h.c.ReasmNoBuffer++
			h.c.InDiscards++
			h.dropDatagram(s)
			return nil
		}
		// Header and first payload; the loop below frees first.
		copy(d.Extend(first.Len()), first.Bytes())
	}
	b := first.Next
	first.Next = nil
	if d != first {
		first.Free()
	}
	for b != nil {
		next := b.Next
		b.Next = nil
		p := wire.IPv4(b.Bytes())
		copy(d.Extend(b.Len()-p.HeaderLen()), p.Payload())
		b.Free()
		b = next
	}
	// A link's checksum verdict on the first fragment says nothing about
	// the whole datagram (a pool buffer comes without flags).
	d.Flags &^= link.FlagCsumValid
	h.frag.mem -= s.mem
	h.frag.busy--
	*s = fragSlot{} // the fragments are freed or d: the caller's now
	p := wire.IPv4(d.Bytes())
	binary.BigEndian.PutUint16(p[2:4], uint16(total))
	binary.BigEndian.PutUint16(p[6:8], binary.BigEndian.Uint16(p[6:8])&0x4000) // keep DF; clear MF, offset
	p.SetChecksum()
	h.c.ReasmOKs++
	return d
}

// fragTick expires datagrams older than Frag.Timeout, answering with ICMP
// time exceeded (code 1) when the first fragment had arrived.
func (h *Host) fragTick(now time.Duration, out Output) {
	r := &h.frag
	if r.busy == 0 {
		return
	}
	for i := range r.slots {
		s := &r.slots[i]
		if !s.inUse {
			continue
		}
		exp := s.start + h.cfg.Frag.Timeout
		if now < exp {
			h.arm(exp)
			continue
		}
		h.c.ReasmTimeout++
		if s.head != nil && !h.cfg.Frag.NoTimeExceeded {
			if off, _, _ := fragInfo(s.head); off == 0 && s.dst == h.self {
				h.sendICMPError(now, wire.ICMPv4TimeExceeded, 1, 0, s.head.Bytes(), out)
			}
		}
		h.dropDatagram(s)
	}
}
