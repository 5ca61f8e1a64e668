package link

import "sync/atomic"

// Buf is one frame buffer. Its data is a window [off, off+n) into a fixed
// backing array; headroom before the window lets protocol layers prepend
// headers without copying (TCP builds its header, then IP and Ethernet are
// prepended in front of it).
type Buf struct {
	b    []byte // whole backing array; len(b) == cap(b)
	off  int    // start of data
	n    int    // length of data
	pool *Pool
	held atomic.Uint32 // 1 while out of the pool; catches double frees
	// Flags carry per-frame metadata between links and the stack.
	Flags Flags
	// GSOSize, when Flags has FlagGSO, is the segment size the link (or
	// kernel) must cut the TCP payload into.
	GSOSize uint16
	// Next links Bufs into intrusive queues (receive queues, pending ARP
	// resolution) without allocation. Only the owner may use it.
	Next *Buf
}

// Flags describe a frame.
type Flags uint8

const (
	// FlagCsumValid: the link verified the L4 checksum (or the frame was
	// built in-process with a correct one); receivers may skip it.
	FlagCsumValid Flags = 1 << iota
	// FlagCsumPartial: the L4 checksum field holds only the pseudo-header
	// sum; the link or kernel must complete it (TX offload).
	FlagCsumPartial
	// FlagGSO: the frame is a TCP super-segment to be cut at GSOSize.
	FlagGSO
)

// Bytes returns the frame data. The slice aliases the buffer and is valid
// until the Buf is freed or handed on.
func (b *Buf) Bytes() []byte { return b.b[b.off : b.off+b.n] }

// Len is the length of the frame data.
func (b *Buf) Len() int { return b.n }

// Headroom is how many bytes Prepend can still add in front.
func (b *Buf) Headroom() int { return b.off }

// Tailroom is how many bytes SetLen/Append can still add at the end.
func (b *Buf) Tailroom() int { return len(b.b) - b.off - b.n }

// Reset empties the data window and restores the pool's default headroom.
func (b *Buf) Reset() {
	b.off = b.pool.headroom
	b.n = 0
	b.Flags = 0
	b.GSOSize = 0
	b.Next = nil
}

// SetLen sets the data length, growing into the tailroom. It reports false,
// changing nothing, when n is negative or beyond the buffer.
func (b *Buf) SetLen(n int) bool {
	if n < 0 || n > len(b.b)-b.off {
		return false
	}
	b.n = n
	return true
}

// Extend grows the data by n bytes at the end and returns the new bytes,
// or nil when there is not enough tailroom.
func (b *Buf) Extend(n int) []byte {
	if n < 0 || n > b.Tailroom() {
		return nil
	}
	s := b.b[b.off+b.n : b.off+b.n+n]
	b.n += n
	return s
}

// Prepend grows the data by n bytes at the front and returns them, or nil
// when there is not enough headroom.
func (b *Buf) Prepend(n int) []byte {
	if n < 0 || n > b.off {
		return nil
	}
	b.off -= n
	b.n += n
	return b.b[b.off : b.off+n]
}

// TrimFront drops n bytes from the front of the data (for example a header
// already consumed). It reports false, changing nothing, if n > Len().
func (b *Buf) TrimFront(n int) bool {
	if n < 0 || n > b.n {
		return false
	}
	b.off += n
	b.n -= n
	return true
}

// Pool is the pool the Buf belongs to.
func (b *Buf) Pool() *Pool { return b.pool }

// Free returns the Buf to its pool. The caller must not use it afterwards.
// Free on a nil Buf does nothing.
func (b *Buf) Free() {
	if b == nil {
		return
	}
	b.pool.put(b)
}
