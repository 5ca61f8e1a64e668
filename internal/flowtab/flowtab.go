// Package flowtab is the table that finds a connection from its 4-tuple on
// every received segment: open addressing with linear probing over a
// power-of-two array, keys compared as four machine words, a seeded
// multiply-mix hash, and deletion by backward shift (no tombstones, so a
// table with heavy churn never degrades). Lookups, inserts and deletes do
// not allocate; only growth does, and the table never shrinks below its
// largest size, so a stack in steady state allocates nothing here.
//
// Compared with a Go map keyed by tcp.Tuple (two netip.AddrPorts, 64 bytes
// with a zone pointer each), the key here is 36 bytes of addresses and
// ports, hashed with three 64-bit multiplies instead of an AES round over
// 64 bytes, and a hit usually touches one cache line of the slot array.
//
// The hash is keyed by a per-table random seed, so an attacker who chooses
// ports and addresses cannot aim their connections at one probe chain
// without learning the seed.
package flowtab

import (
	"encoding/binary"
	"iter"
	"math/bits"
	"net/netip"
)

// Key is a connection's 4-tuple in wire form. Make one with MakeKey or
// MakeKey4. An IPv4 address and its IPv4-mapped IPv6 form give the same
// key: on the wire they are one flow.
type Key struct {
	la, ra [2]uint64 // local and remote address, IPv4 mapped into IPv6
	ports  uint32    // local port << 16 | remote port
}

// MakeKey builds the key of the connection (local, remote).
func MakeKey(local, remote netip.AddrPort) Key {
	return Key{
		la:    words(local.Addr()),
		ra:    words(remote.Addr()),
		ports: uint32(local.Port())<<16 | uint32(remote.Port()),
	}
}

// MakeKey4 builds the key of an IPv4 connection from wire-form addresses
// (big-endian, as read from the header) and ports: the same key MakeKey
// gives for the same tuple, without going through netip.
func MakeKey4(local, remote uint32, lport, rport uint16) Key {
	return Key{
		la:    [2]uint64{0, v4mapped | uint64(local)},
		ra:    [2]uint64{0, v4mapped | uint64(remote)},
		ports: uint32(lport)<<16 | uint32(rport),
	}
}

// AddrPorts is the tuple k was made from: IPv4 addresses come back as
// IPv4 (an IPv4-mapped IPv6 address too, being the same key), zones are
// not kept.
func (k *Key) AddrPorts() (local, remote netip.AddrPort) {
	return netip.AddrPortFrom(addr(k.la), uint16(k.ports>>16)),
		netip.AddrPortFrom(addr(k.ra), uint16(k.ports))
}

func addr(w [2]uint64) netip.Addr {
	if w[0] == 0 && w[1]>>32 == 0xffff {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(w[1]))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], w[0])
	binary.BigEndian.PutUint64(b[8:], w[1])
	return netip.AddrFrom16(b)
}

// v4mapped is the ::ffff:0:0/96 prefix in the low word of an address.
const v4mapped = 0xffff << 32

// Equal reports whether k and o are the same tuple; cheaper than ==,
// which compiles to a call comparing the struct's bytes.
func (k *Key) Equal(o *Key) bool {
	return k.ports == o.ports && k.ra[1] == o.ra[1] && k.la[1] == o.la[1] &&
		k.ra[0] == o.ra[0] && k.la[0] == o.la[0]
}

func words(a netip.Addr) [2]uint64 {
	if a.Is4() {
		b := a.As4()
		return [2]uint64{0, v4mapped | uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return [2]uint64{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// minSize is the smallest slot array; maxLoad is the fill, in 1/8ths,
// past which the array doubles.
const (
	minSize = 64
	maxLoad = 6 // 75 %
)

type slot[V any] struct {
	key  Key
	used bool
	val  V
}

// Table maps keys to values of type V. The zero Table is not usable; make
// one with New. A Table is not safe for concurrent use (one per shard).
type Table[V any] struct {
	slots []slot[V]
	mask  uint64
	n     int
	seed  [4]uint64
}

// New returns an empty table whose hash is keyed by seed (four random
// words; give each table its own).
func New[V any](seed [4]uint64) *Table[V] {
	return &Table[V]{slots: make([]slot[V], minSize), mask: minSize - 1, seed: seed}
}

// Len is the number of entries.
func (t *Table[V]) Len() int { return t.n }

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func (t *Table[V]) hash(k *Key) uint64 { return hashKey(&t.seed, k) }

// hashKey is the seeded hash of Table and Index.
func hashKey(seed *[4]uint64, k *Key) uint64 {
	const m = 0x9e3779b97f4a7c15
	h := mix(k.la[0]^seed[0], k.la[1]^m)
	h ^= mix(k.ra[0]^seed[1], k.ra[1]^seed[2])
	return mix(h^uint64(k.ports)^seed[3], m)
}

// Get returns the value stored under k and whether there is one.
func (t *Table[V]) Get(k Key) (V, bool) {
	for i := t.hash(&k) & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if !s.used {
			var zero V
			return zero, false
		}
		if s.key.Equal(&k) {
			return s.val, true
		}
	}
}

// Set stores v under k, replacing any value already there.
func (t *Table[V]) Set(k Key, v V) {
	if (t.n+1)*8 > len(t.slots)*maxLoad {
		t.grow()
	}
	for i := t.hash(&k) & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if !s.used {
			s.key, s.used, s.val = k, true, v
			t.n++
			return
		}
		if s.key.Equal(&k) {
			s.val = v
			return
		}
	}
}

// Delete removes k's entry, if any, and reports whether there was one.
func (t *Table[V]) Delete(k Key) bool {
	i := t.hash(&k) & t.mask
	for ; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if !s.used {
			return false
		}
		if s.key.Equal(&k) {
			break
		}
	}
	// Backward shift: move later entries of the probe run into the hole
	// when their home slot does not lie in the cyclic range (hole, j].
	for j := (i + 1) & t.mask; ; j = (j + 1) & t.mask {
		s := &t.slots[j]
		if !s.used {
			break
		}
		home := t.hash(&s.key) & t.mask
		if (j-home)&t.mask >= (j-i)&t.mask {
			t.slots[i] = *s
			i = j
		}
	}
	t.slots[i] = slot[V]{}
	t.n--
	return true
}

func (t *Table[V]) grow() {
	old := t.slots
	t.slots = make([]slot[V], 2*len(old))
	t.mask = uint64(len(t.slots) - 1)
	for i := range old {
		s := &old[i]
		if !s.used {
			continue
		}
		j := t.hash(&s.key) & t.mask
		for t.slots[j].used {
			j = (j + 1) & t.mask
		}
		t.slots[j] = *s
	}
}

// All yields every entry. The table must not be changed during the
// iteration.
func (t *Table[V]) All() iter.Seq2[Key, V] {
	return func(yield func(Key, V) bool) {
		for i := range t.slots {
			s := &t.slots[i]
			if s.used && !yield(s.key, s.val) {
				return
			}
		}
	}
}

// Values yields every value. The table must not be changed during the
// iteration.
func (t *Table[V]) Values() iter.Seq[V] {
	return func(yield func(V) bool) {
		for i := range t.slots {
			s := &t.slots[i]
			if s.used && !yield(s.val) {
				return
			}
		}
	}
}
