package afxdp

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ring is one of the four rings shared with the kernel. Producer and
// consumer are free-running 32-bit indices in the shared mapping, read and
// written with atomics (the kernel pairs them with acquire/release
// barriers). Each side keeps a private copy of its own index and of the
// last value it saw of the other's, touching the shared cache line only
// when the private view runs out.
type ring struct {
	mem   []byte // the mapping, for munmap
	prod  *atomic.Uint32
	cons  *atomic.Uint32
	flags *atomic.Uint32
	mask  uint32
	size  uint32

	// addrs (fill, completion) or descs (rx, tx): the entries.
	addrs []uint64
	descs []unix.XDPDesc

	local uint32 // our index: prod for fill/tx, cons for rx/completion
	seen  uint32 // last value seen of the kernel's index
}

// mapRing maps a ring of n entries of entSize bytes at the page offset
// pgoff, laid out as the kernel's offsets say.
func mapRing(fd int, off unix.XDPRingOffset, pgoff int64, n uint32, entSize uintptr, name string) (*ring, error) {
	length := int(off.Desc) + int(n)*int(entSize)
	mem, err := unix.Mmap(fd, pgoff, length, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, classify(fmt.Sprintf("afxdp: mapping the %s ring", name), err)
	}
	r := &ring{
		mem:   mem,
		prod:  (*atomic.Uint32)(unsafe.Pointer(&mem[off.Producer])),
		cons:  (*atomic.Uint32)(unsafe.Pointer(&mem[off.Consumer])),
		flags: (*atomic.Uint32)(unsafe.Pointer(&mem[off.Flags])),
		mask:  n - 1,
		size:  n,
	}
	if entSize == 8 {
		r.addrs = unsafe.Slice((*uint64)(unsafe.Pointer(&mem[off.Desc])), n)
	} else {
		r.descs = unsafe.Slice((*unix.XDPDesc)(unsafe.Pointer(&mem[off.Desc])), n)
	}
	return r, nil
}

func (r *ring) unmap() {
	if r != nil && r.mem != nil {
		unix.Munmap(r.mem)
		r.mem = nil
	}
}

// Producer side (fill, tx).

// free is how many entries can be produced, up to want; it reloads the
// kernel's consumer index only when the cached view has too few.
func (r *ring) free(want uint32) uint32 {
	f := r.size - (r.local - r.seen)
	if f < want {
		r.seen = r.cons.Load()
		f = r.size - (r.local - r.seen)
	}
	return f
}

// publish makes n produced entries visible to the kernel.
func (r *ring) publish(n uint32) {
	r.local += n
	r.prod.Store(r.local)
}

// outstanding is how many produced entries the kernel has not consumed.
func (r *ring) outstanding() uint32 {
	r.seen = r.cons.Load()
	return r.local - r.seen
}

// Consumer side (rx, completion).

// avail is how many entries can be consumed, up to want.
func (r *ring) avail(want uint32) uint32 {
	a := r.seen - r.local
	if a < want {
		r.seen = r.prod.Load()
		a = r.seen - r.local
	}
	return min(a, want)
}

// release hands n consumed entries back to the kernel.
func (r *ring) release(n uint32) {
	r.local += n
	r.cons.Store(r.local)
}

// needWakeup reports the kernel's XDP_RING_NEED_WAKEUP flag.
func (r *ring) needWakeup() bool { return r.flags.Load()&unix.XDP_RING_NEED_WAKEUP != 0 }
