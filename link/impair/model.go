package impair

import (
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/ustack/ustack/link"
)

// EthHeaderLen is the part of every frame corruption never touches.
const EthHeaderLen = 14

// Delivery is a frame the model lets through: Buf arrives at time At.
type Delivery struct {
	At  time.Duration
	Buf *link.Buf
}

// Drop says why Offer dropped a frame.
type Drop uint8

// Drop reasons.
const (
	DropNone  Drop = iota // the frame was not dropped
	DropQueue             // tail drop: the serialization queue was full
	DropLoss              // random loss (Config.Loss)
	DropBurst             // Gilbert–Elliott loss (Config.GE)
)

func (d Drop) String() string {
	switch d {
	case DropNone:
		return "none"
	case DropQueue:
		return "queue"
	case DropLoss:
		return "loss"
	case DropBurst:
		return "burst"
	}
	return fmt.Sprintf("Drop(%d)", uint8(d))
}

// Stats counts what a Model did. Frames counted in Offered are either in
// one of the drop counters or in Passed.
type Stats struct {
	Offered      uint64 // frames offered
	OfferedBytes uint64 // bytes in them
	Passed       uint64 // frames scheduled for delivery (copies not included)
	QueueDrops   uint64 // tail drops at the serialization queue
	LossDrops    uint64 // random losses
	BurstDrops   uint64 // Gilbert–Elliott losses
	Duplicated   uint64 // copies delivered
	DupNoBuf     uint64 // copies not made: the pool was empty
	Corrupted    uint64 // frames with flipped bits (copies included)
	Reordered    uint64 // frames that skipped ahead
}

// Model applies a Config to one direction of a link. It is not safe for
// concurrent use; it allocates nothing after NewModel.
type Model struct {
	cfg Config

	lossThr, reorderThr, dupThr, corruptThr uint64
	geP, geR, geLG, geLB                    uint64
	gap                                     time.Duration

	lossRng, geRng, jitterRng, reorderRng, dupRng, corruptRng stream

	busyUntil time.Duration // when the serializer is free
	lastAt    time.Duration // latest in-order arrival (FIFO floor)
	geBad     bool

	st Stats
}

// Random stream identifiers (fixed: changing them changes every seed's behaviour).
const (
	idLoss = iota + 1
	idGE
	idJitter
	idReorder
	idDup
	idCorrupt
)

// NewModel validates cfg and returns a model in its initial state (idle
// serializer, Gilbert–Elliott channel in the good state).
func NewModel(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.CorruptBits == 0 {
		cfg.CorruptBits = 1
	}
	m := &Model{
		cfg:        cfg,
		lossThr:    threshold(cfg.Loss),
		reorderThr: threshold(cfg.Reorder),
		dupThr:     threshold(cfg.Duplicate),
		corruptThr: threshold(cfg.Corrupt),
		geP:        threshold(cfg.GE.P),
		geR:        threshold(cfg.GE.R),
		geLG:       threshold(cfg.GE.LossGood),
		geLB:       threshold(cfg.GE.LossBad),
		gap:        cfg.ReorderGap,
	}
	if m.gap == 0 {
		m.gap = cfg.Delay
	}
	m.lossRng.seed(cfg.Seed, idLoss)
	m.geRng.seed(cfg.Seed, idGE)
	m.jitterRng.seed(cfg.Seed, idJitter)
	m.reorderRng.seed(cfg.Seed, idReorder)
	m.dupRng.seed(cfg.Seed, idDup)
	m.corruptRng.seed(cfg.Seed, idCorrupt)
	return m, nil
}

// Config returns the model's configuration (CorruptBits defaulted).
func (m *Model) Config() Config { return m.cfg }

// Stats returns a snapshot of the counters.
func (m *Model) Stats() Stats { return m.st }

// BusyUntil is when the serializer finishes the frames already accepted.
func (m *Model) BusyUntil() time.Duration { return m.busyUntil }

// Offer hands the model frame b at time now and appends to out the
// deliveries it causes: none (dropped), one, or two (duplicated), each with
// its arrival time, in the order they must be delivered when their times are
// equal. Offer takes ownership of b: it is either in out or freed (drop
// reports why). Copies come from b's pool. Times passed to successive calls
// must not decrease. Offer allocates nothing when out has room for two more.
func (m *Model) Offer(now time.Duration, b *link.Buf, out []Delivery) ([]Delivery, Drop) {
	n := b.Len()
	m.st.Offered++
	m.st.OfferedBytes += uint64(n)

	// 1. Queue and serialization.
	depart := now
	if r := m.cfg.Rate; r > 0 {
		start := max(now, m.busyUntil)
		if m.cfg.QueueLimit > 0 && start > now {
			if backlog := backlogBytes(start-now, r); backlog+uint64(n) > uint64(m.cfg.QueueLimit) {
				m.st.QueueDrops++
				b.Free()
				return out, DropQueue
			}
		}
		depart = start + serialize(n, r)
		m.busyUntil = depart
	}

	// 2. Loss on the wire.
	if m.lossThr > 0 && m.lossRng.hit(m.lossThr) {
		m.st.LossDrops++
		b.Free()
		return out, DropLoss
	}
	if m.cfg.GE.Enabled() {
		if m.geBad {
			if m.geRng.hit(m.geR) {
				m.geBad = false
			}
		} else if m.geRng.hit(m.geP) {
			m.geBad = true
		}
		thr := m.geLG
		if m.geBad {
			thr = m.geLB
		}
		if thr > 0 && m.geRng.hit(thr) {
			m.st.BurstDrops++
			b.Free()
			return out, DropBurst
		}
	}

	// 3, 4. Propagation, jitter, reordering.
	at := depart + m.cfg.Delay
	if j := m.cfg.Jitter; j > 0 {
		at += time.Duration(m.jitterRng.below(2*uint64(j)+1)) - j
		if at < depart {
			at = depart
		}
	}
	if m.reorderThr > 0 && m.reorderRng.hit(m.reorderThr) {
		m.st.Reordered++
		at = max(depart, at-m.gap)
	} else if !m.cfg.JitterReorder {
		at = max(at, m.lastAt)
		m.lastAt = at
	}
	m.st.Passed++

	// 5. Duplication (the copy is taken before the original is corrupted).
	var dup *link.Buf
	if m.dupThr > 0 && m.dupRng.hit(m.dupThr) {
		if dup = clone(b); dup == nil {
			m.st.DupNoBuf++
		} else {
			m.st.Duplicated++
		}
	}

	// 6. Corruption.
	m.maybeCorrupt(b)
	out = append(out, Delivery{At: at, Buf: b})
	if dup != nil {
		m.maybeCorrupt(dup)
		out = append(out, Delivery{At: at, Buf: dup})
	}
	return out, DropNone
}

// serialize is how long n bytes take at r bits/s, rounded up to 1ns.
func serialize(n int, r uint64) time.Duration {
	hi, lo := bits.Mul64(uint64(n)*8, uint64(time.Second))
	if hi >= r {
		return math.MaxInt64 / 4
	}
	q, rem := bits.Div64(hi, lo, r)
	if rem != 0 {
		q++
	}
	if q > math.MaxInt64/4 {
		return math.MaxInt64 / 4
	}
	return time.Duration(q)
}

// backlogBytes is how many bytes r bits/s still has to send in d (rounded
// down: serialize rounds up, so a backlog of whole frames is never
// overestimated).
func backlogBytes(d time.Duration, r uint64) uint64 {
	hi, lo := bits.Mul64(uint64(d), r)
	const div = 8 * uint64(time.Second)
	if hi >= div {
		return math.MaxUint64 / 2
	}
	q, _ := bits.Div64(hi, lo, div)
	return q
}

// clone copies b into a new Buf from b's pool, or returns nil.
func clone(b *link.Buf) *link.Buf {
	p := b.Pool()
	if p == nil {
		return nil
	}
	nb := p.Get()
	if nb == nil {
		return nil
	}
	n := b.Len()
	if t := nb.Tailroom(); n > t {
		// The original used some of its headroom; use ours as well.
		if nb.Prepend(n-t) == nil {
			nb.Free()
			return nil
		}
	}
	if !nb.SetLen(n) {
		nb.Free()
		return nil
	}
	copy(nb.Bytes(), b.Bytes())
	nb.Flags = b.Flags
	nb.GSOSize = b.GSOSize
	return nb
}

// maybeCorrupt flips 1..CorruptBits distinct random bits after the Ethernet
// header of b, with probability Corrupt.
func (m *Model) maybeCorrupt(b *link.Buf) {
	if m.corruptThr == 0 || !m.corruptRng.hit(m.corruptThr) {
		return
	}
	data := b.Bytes()
	if len(data) <= EthHeaderLen {
		return
	}
	body := data[EthHeaderLen:]
	nbits := uint64(len(body)) * 8
	k := 1
	if m.cfg.CorruptBits > 1 {
		k += int(m.corruptRng.below(uint64(m.cfg.CorruptBits)))
	}
	k = int(min(uint64(k), nbits))
	var picked [MaxCorruptBits]uint64
	for i := 0; i < k; i++ {
	again:
		pos := m.corruptRng.below(nbits)
		for _, q := range picked[:i] {
			if q == pos {
				goto again
			}
		}
		picked[i] = pos
		body[pos/8] ^= 1 << (pos % 8)
	}
	b.Flags &^= link.FlagCsumValid
	m.st.Corrupted++
}
