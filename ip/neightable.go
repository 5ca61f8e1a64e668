package ip

import (
	"time"

	"github.com/ustack/ustack/link"
)

// NeighState is the state of a neighbour cache entry (RFC 4861 7.3.2, as
// Linux applies it to ARP).
type NeighState uint8

const (
	NeighNone       NeighState = iota // no entry
	NeighIncomplete                   // resolution in progress, packets queued
	NeighReachable                    // recently confirmed
	NeighStale                        // usable, unconfirmed; first use starts DELAY
	NeighDelay                        // used while stale; waiting for an upper-layer confirmation
	NeighProbe                        // unicast ARP probes outstanding
	NeighFailed                       // resolution or probing failed
	NeighPermanent                    // set by SetNeigh: never probed, aged or overridden
)

var neighStateNames = [...]string{"NONE", "INCOMPLETE", "REACHABLE", "STALE", "DELAY", "PROBE", "FAILED", "PERMANENT"}

func (s NeighState) String() string {
	if int(s) < len(neighStateNames) {
		return neighStateNames[s]
	}
	return "UNKNOWN"
}

// neighEntry is one neighbour. Packets waiting for resolution are an
// intrusive queue through link.Buf.Next.
type neighEntry struct {
	addr      uint32
	inUse     bool
	state     NeighState
	probes    uint8
	mac       [6]byte
	timer     time.Duration // next action in INCOMPLETE, DELAY, PROBE
	confirmed time.Duration // last confirmation of reachability
	used      time.Duration // last time a packet was sent through it (or it changed)
	head      *link.Buf
	tail      *link.Buf
	npend     int
}

// neighTable is a fixed-size open-addressed hash table with linear probing
// and backward-shift deletion. It is sized at twice the entry limit
// (rounded up to a power of two), so probe sequences stay short.
type neighTable struct {
	slots []neighEntry
	mask  uint32
	shift uint32
	count int
	limit int
}

func newNeighTable(limit int) neighTable {
	n := uint32(2)
	shift := uint32(31)
	for int(n) < 2*limit {
		n <<= 1
		shift--
	}
	return neighTable{slots: make([]neighEntry, n), mask: n - 1, shift: shift, limit: limit}
}

func (t *neighTable) home(addr uint32) uint32 {
	return (addr * 0x9e3779b1) >> t.shift
}

// find returns the entry for addr, or nil.
func (t *neighTable) find(addr uint32) *neighEntry {
	for i := t.home(addr); ; i = (i + 1) & t.mask {
		e := &t.slots[i]
		if !e.inUse {
			return nil
		}
		if e.addr == addr {
			return e
		}
	}
}

// insert adds a fresh entry for addr, which must not be present, and
// returns it; nil when the table is full (the caller evicts first).
func (t *neighTable) insert(addr uint32) *neighEntry {
	if t.count >= t.limit {
		return nil
	}
	i := t.home(addr)
	for t.slots[i].inUse {
		i = (i + 1) & t.mask
	}
	e := &t.slots[i]
	*e = neighEntry{addr: addr, inUse: true}
	t.count++
	return e
}

// remove deletes the entry for addr, if any, shifting later entries of
// the same probe run back so that lookups need no tombstones. The caller
// must have emptied its queue. Pointers to entries are invalidated.
func (t *neighTable) remove(addr uint32) {
	i := t.home(addr)
	for ; ; i = (i + 1) & t.mask {
		if !t.slots[i].inUse {
			return
		}
		if t.slots[i].addr == addr {
			break
		}
	}
	for {
		t.slots[i] = neighEntry{}
		j := i
		for {
			j = (j + 1) & t.mask
			if !t.slots[j].inUse {
				t.count--
				return
			}
			h := t.home(t.slots[j].addr)
			// Slot j may fill the hole at i unless its home lies
			// cyclically in (i, j].
			if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
				t.slots[i] = t.slots[j]
				i = j
				break
			}
		}
	}
}
