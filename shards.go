package ustack

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/shard"
)

// A stack with more than one link queue (Config.Queues) runs one shard per
// queue. Each shard is a *Stack of its own (its IP host, TCP table, timers
// and pool) with group set; the user holds shard 0, whose exported methods
// spread the work: listeners exist on every shard, dials go round robin,
// UDP, ICMP and ping live on shard 0.
//
// Ownership follows link.SteerQueue: a TCP connection belongs to the shard
// whose index its 4-tuple hashes to, everything else to shard 0. A link
// that steers the same way (link/mem queues) delivers every frame to its
// owner; one that does not (a NIC's own RSS key, the kernel's TAP queue
// choice) delivers some elsewhere, and the receiving shard hands them over
// through the owner's handoff ring. An active open picks its source port so
// that the reply hashes to the dialing shard.

// DefaultShardHandoff is Config.ShardHandoff's default.
const DefaultShardHandoff = 4096

// shardGroup is what the shards of one stack share.
type shardGroup struct {
	all []*Stack
	rr  atomic.Uint32 // round robin over shards for dials and accepts
}

// pick is the shard for the next active open.
func (g *shardGroup) pick() *Stack {
	return g.all[int(g.rr.Add(1)-1)%len(g.all)]
}

// ownerOf is the shard a frame belongs to (link.SteerQueue).
func (g *shardGroup) ownerOf(frame []byte) int { return link.SteerQueue(frame, len(g.all)) }

// tupleOwner is the shard the frames of a TCP connection from local to
// remote hash to, computed the way a link steers them: on the headers of
// a frame carrying the tuple.
func tupleOwner(n int, local, remote netip.AddrPort) int {
	var f [14 + 20 + 20]byte
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], 40)
	ip[8] = 64
	ip[9] = 6
	src, dst := remote.Addr().As4(), local.Addr().As4()
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:], remote.Port())
	binary.BigEndian.PutUint16(tcp[2:], local.Port())
	tcp[12] = 5 << 4
	return link.SteerQueue(f[:], n)
}

// handoff is a shard's inbound ring of frames that arrived on another
// shard's queue: a bounded lock-free multi-producer, single-consumer
// queue (a sequence number per slot). The producers are the other shards'
// goroutines, the consumer the owning shard.
type handoff struct {
	s     *Stack // the owner
	mask  uint64
	slots []handoffSlot
	_     [64]byte
	tail  atomic.Uint64 // next slot to claim (producers)
	_     [56]byte
	head  uint64 // next slot to take (consumer)
	// queued is set while a drain task sits in the owner's inbox, so that
	// a burst of handed-over frames costs one task.
	queued atomic.Bool
	drops  atomic.Uint64 // frames freed because the ring was full
	moved  atomic.Uint64 // frames handed over by steering (not ARP copies)
	task   handoffTask
}

type handoffSlot struct {
	seq atomic.Uint64
	b   *link.Buf
}

func (h *handoff) init(s *Stack, size int) {
	n := 1
	for n < size {
		n <<= 1
	}
	h.s = s
	h.mask = uint64(n - 1)
	h.slots = make([]handoffSlot, n)
	for i := range h.slots {
		h.slots[i].seq.Store(uint64(i))
	}
	h.task.h = h
}

// push gives b to the owner (any goroutine). A full ring frees b and
// counts it: the sender's retransmission repairs the loss.
func (h *handoff) push(b *link.Buf) {
	for {
		pos := h.tail.Load()
		sl := &h.slots[pos&h.mask]
		seq := sl.seq.Load()
		switch d := int64(seq - pos); {
		case d == 0:
			if !h.tail.CompareAndSwap(pos, pos+1) {
				continue
			}
			sl.b = b
			sl.seq.Store(pos + 1)
			if !h.queued.Load() && h.queued.CompareAndSwap(false, true) {
				if !h.s.shard.Submit(&h.task) {
					// The owner's inbox is full, so it is busy: its
					// EndBurst drains the ring.
					h.queued.Store(false)
				}
			}
			return
		case d < 0:
			h.drops.Add(1)
			b.Free()
			return
		}
	}
}

// pop takes the oldest frame, or nil (owner only).
func (h *handoff) pop() *link.Buf {
	sl := &h.slots[h.head&h.mask]
	if sl.seq.Load() != h.head+1 {
		return nil
	}
	b := sl.b
	sl.b = nil
	sl.seq.Store(h.head + h.mask + 1)
	h.head++
	return b
}

// drain runs every frame waiting in the ring through the owner's IP
// input (owner's shard goroutine).
func (h *handoff) drain(now time.Duration, tx *shard.TX) {
	for b := h.pop(); b != nil; b = h.pop() {
		if h.s.idx == 0 {
			h.s.spreadARP(b)
		}
		h.s.host.Input(now, b, tx)
	}
}

// freeAll releases what is left once every shard has stopped.
func (h *handoff) freeAll() {
	for b := h.pop(); b != nil; b = h.pop() {
		b.Free()
	}
}

// handoffTask wakes the owner to drain its ring.
type handoffTask struct{ h *handoff }

func (t *handoffTask) Run(now time.Duration, tx *shard.TX) {
	t.h.queued.Store(false)
	t.h.s.tcp.enter(now, tx)
	t.h.drain(now, tx)
}

// steer hands b to its owner when that is another shard, and on shard 0
// copies ARP replies to the others (whose neighbour caches wait on them:
// ARP always arrives on queue 0). It reports whether b left this shard.
func (h *handler) steer(b *link.Buf) bool {
	s := h.s
	g := s.group
	k := g.ownerOf(b.Bytes())
	if k == 0 {
		// An ICMP error about a TCP segment belongs with the connection
		// that sent it (its shard's path MTU table, its socket).
		if o, ok := icmpOwner(b.Bytes(), len(g.all)); ok {
			k = o
		}
	}
	if k != s.idx {
		g.all[k].handoff.moved.Add(1)
		g.all[k].handoff.push(b)
		return true
	}
	if k == 0 {
		s.spreadARP(b)
	}
	return false
}

// spreadARP copies an ARP reply shard 0 is about to process to the other
// shards, whose neighbour caches may wait on it (shard 0 goroutine).
func (s *Stack) spreadARP(b *link.Buf) {
	if isARPReply(b.Bytes()) {
		pool := s.shard.TX().Pool()
		for _, o := range s.group.all[1:] {
			c := pool.Get()
			if c == nil {
				break
			}
			d := c.Extend(b.Len())
			if d == nil {
				c.Free()
				break
			}
			copy(d, b.Bytes())
			o.handoff.push(c)
		}
	}
}

// icmpOwner is the shard owning the TCP connection an ICMPv4 error
// (destination unreachable, time exceeded, parameter problem) is about,
// from the IPv4 and TCP headers it quotes; ok is false for anything else.
func icmpOwner(f []byte, n int) (int, bool) {
	if len(f) < 14 {
		return 0, false
	}
	et, off := binary.BigEndian.Uint16(f[12:]), 14
	if et == 0x8100 && len(f) >= 18 {
		et, off = binary.BigEndian.Uint16(f[16:]), 18
	}
	if et != 0x0800 || len(f) < off+20 {
		return 0, false
	}
	ip := f[off:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[0]>>4 != 4 || ihl < 20 || ip[9] != 1 || len(ip) < ihl+8+20+4 {
		return 0, false
	}
	icmp := ip[ihl:]
	if t := icmp[0]; t != 3 && t != 11 && t != 12 {
		return 0, false
	}
	in := icmp[8:]
	ihl2 := int(in[0]&0x0f) * 4
	if in[0]>>4 != 4 || ihl2 < 20 || in[9] != 6 || len(in) < ihl2+4 {
		return 0, false
	}
	// The quoted segment went from us (its source) to the peer.
	local := netip.AddrPortFrom(netip.AddrFrom4([4]byte(in[12:16])), binary.BigEndian.Uint16(in[ihl2:]))
	remote := netip.AddrPortFrom(netip.AddrFrom4([4]byte(in[16:20])), binary.BigEndian.Uint16(in[ihl2+2:]))
	return tupleOwner(n, local, remote), true
}

// isARPReply reports an Ethernet frame carrying an ARP reply.
func isARPReply(f []byte) bool {
	if len(f) < 14 {
		return false
	}
	et, off := binary.BigEndian.Uint16(f[12:]), 14
	if et == 0x8100 && len(f) >= 18 {
		et, off = binary.BigEndian.Uint16(f[16:]), 18
	}
	return et == 0x0806 && len(f) >= off+8 && binary.BigEndian.Uint16(f[off+6:]) == 2
}

// shards is the list of a stack's shards: itself alone, or the group.
func (s *Stack) shards() []*Stack {
	if s.group == nil {
		return s.self[:]
	}
	return s.group.all
}

// Shards is how many shards the stack runs (1 + len(Config.Queues)).
func (s *Stack) Shards() int {
	if s.group == nil {
		return 1
	}
	return len(s.group.all)
}

// addCounters adds every uint64 and int field of the struct *src to *dst
// (same type), recursing into nested structs: the sum of per-shard
// counters. Not on a hot path.
func addCounters(dst, src any) {
	addValue(reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem())
}

func addValue(d, s reflect.Value) {
	switch d.Kind() {
	case reflect.Struct:
		for i := 0; i < d.NumField(); i++ {
			if d.Field(i).CanSet() {
				addValue(d.Field(i), s.Field(i))
			}
		}
	case reflect.Uint64, reflect.Uint32, reflect.Uint:
		d.SetUint(d.Uint() + s.Uint())
	case reflect.Int64, reflect.Int, reflect.Int32:
		d.SetInt(d.Int() + s.Int())
	}
}
