package capture

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ustack/ustack/link"
)

// Link is a link.Link that records the frames passing through another
// one. Its data-path methods follow link.Link's rules (one owning
// goroutine); Flush, Err, CaptureStats, Stats and Close may be called
// from any goroutine.
type Link struct {
	inner       link.Link
	w           io.Writer
	clock       link.Timestamp
	snaplen     int
	closeWriter bool

	mu      sync.Mutex // guards the fields below: Flush/Close race the data path
	buf     []byte     // pending blocks; cap fixed at New
	pending uint64     // frames in buf
	err     error      // first write error, sticky
	closed  bool
	stats   Stats
}

// Stats are the capture's own counters (the link's are in link.Stats).
type Stats struct {
	Frames      uint64 // frames written to the writer
	Bytes       uint64 // bytes written to the writer, headers included
	Dropped     uint64 // frames not recorded: after a write error or Close, or lost in a failed write
	WriteErrors uint64 // failed writes (at most one: errors are sticky)
}

var _ link.Link = (*Link)(nil)

// New wraps l, writing a pcapng capture to w. It writes the file header
// at once, so an unusable writer is an error here. On error l is left
// open and unchanged.
func New(l link.Link, w io.Writer, opts ...Option) (*Link, error) {
	if l == nil || w == nil {
		return nil, errors.New("capture: nil link or writer")
	}
	c := config{description: DefaultDescription}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.snaplen == 0 {
		c.snaplen = DefaultSnaplen
	}
	if c.bufSize == 0 {
		c.bufSize = DefaultBufferSize
	}
	if c.clock == nil {
		c.clock = time.Now
	}
	switch {
	case c.snaplen < 1 || c.snaplen > MaxSnaplen:
		return nil, fmt.Errorf("capture: snaplen %d out of range [1, %d]", c.snaplen, MaxSnaplen)
	case c.bufSize < 0:
		return nil, fmt.Errorf("capture: negative buffer size %d", c.bufSize)
	case len(c.name) > MaxOptionLen || len(c.description) > MaxOptionLen:
		return nil, fmt.Errorf("capture: interface name or description longer than %d bytes", MaxOptionLen)
	}
	hdr := appendHeader(nil, c.snaplen, c.name, c.description)
	size := max(c.bufSize, epbSize(c.snaplen), len(hdr))
	cl := &Link{
		inner:       l,
		w:           w,
		clock:       c.clock,
		snaplen:     c.snaplen,
		closeWriter: c.closeWriter,
		buf:         make([]byte, 0, size),
	}
	cl.buf = append(cl.buf, hdr...)
	if err := cl.Flush(); err != nil {
		return nil, err
	}
	return cl, nil
}

// Recv receives from the wrapped link and records what it returns as
// inbound.
func (l *Link) Recv(bufs []*link.Buf) int {
	n := l.inner.Recv(bufs)
	if n > 0 {
		l.record(bufs[:n])
	}
	return n
}

func (l *Link) record(bufs []*link.Buf) {
	l.mu.Lock()
	if l.err != nil || l.closed {
		l.stats.Dropped += uint64(len(bufs))
		l.mu.Unlock()
		return
	}
	ts := l.now()
	for i, b := range bufs {
		if b == nil {
			continue
		}
		if !l.fits(b) {
			l.flushLocked()
			if l.err != nil {
				l.stats.Dropped += uint64(len(bufs) - i)
				break
			}
		}
		l.appendLocked(b, ts, flagInbound)
	}
	l.mu.Unlock()
}

// Send records the frames, hands them to the wrapped link, and keeps the
// records of those it accepted.
func (l *Link) Send(bufs []*link.Buf) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(bufs) == 0 {
		return l.inner.Send(bufs)
	}
	ts := l.now()
	sent := 0
	for sent < len(bufs) {
		if l.err != nil || l.closed {
			n := l.inner.Send(bufs[sent:])
			l.stats.Dropped += uint64(n)
			return sent + n
		}
		// Record as many frames as fit, send them, take back the
		// records of refused ones. Once Send has a Buf we may not read
		// it again, so the lengths come from our own records.
		mark := len(l.buf)
		j := sent
		for j < len(bufs) && bufs[j] != nil && l.fits(bufs[j]) {
			l.appendLocked(bufs[j], ts, flagOutbound)
			j++
		}
		if j == sent {
			if bufs[j] == nil { // not ours to judge: pass it on unrecorded
				n := l.inner.Send(bufs[j : j+1])
				if n == 0 {
					return sent
				}
				sent++
				continue
			}
			l.flushLocked() // makes room for at least one record
			continue
		}
		n := l.inner.Send(bufs[sent:j])
		l.buf = l.buf[:l.skipBlocks(mark, n)]
		l.pending -= uint64(j - sent - n)
		sent += n
		if sent < j {
			return sent
		}
	}
	return sent
}

// now is the capture timestamp in nanoseconds since the Unix epoch.
func (l *Link) now() uint64 {
	ns := l.clock().UnixNano()
	if ns < 0 {
		return 0
	}
	return uint64(ns)
}

func (l *Link) caplen(b *link.Buf) int { return min(b.Len(), l.snaplen) }

func (l *Link) fits(b *link.Buf) bool {
	return len(l.buf)+epbSize(l.caplen(b)) <= cap(l.buf)
}

func (l *Link) appendLocked(b *link.Buf, ts uint64, dir uint32) {
	l.buf = appendEPB(l.buf, b.Bytes()[:l.caplen(b)], b.Len(), ts, dir)
	l.pending++
}

// skipBlocks returns the offset just past n blocks starting at off.
func (l *Link) skipBlocks(off, n int) int {
	for ; n > 0; n-- {
		off += int(le.Uint32(l.buf[off+4:]))
	}
	return off
}

// Flush writes out the buffered records and returns the sticky write
// error, if any.
func (l *Link) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
	return l.err
}

func (l *Link) flushLocked() {
	if len(l.buf) == 0 || l.err != nil {
		return
	}
	n, err := l.w.Write(l.buf)
	if err == nil && n < len(l.buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		l.err = fmt.Errorf("capture: write: %w", err)
		l.stats.WriteErrors++
		l.stats.Dropped += l.pending
	} else {
		l.stats.Frames += l.pending
		l.stats.Bytes += uint64(n)
	}
	l.pending = 0
	l.buf = l.buf[:0]
}

// Err returns the first write error, or nil.
func (l *Link) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// CaptureStats returns the capture's counters.
func (l *Link) CaptureStats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Close closes the wrapped link, flushes the capture, and closes the
// writer if WithCloseWriter was given and it is an io.Closer. It returns
// the errors of those steps, including a sticky write error. A second
// Close returns link.ErrClosed.
func (l *Link) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return link.ErrClosed
	}
	l.mu.Unlock()
	ierr := l.inner.Close()
	l.mu.Lock()
	if l.closed { // a concurrent Close won
		l.mu.Unlock()
		return link.ErrClosed
	}
	l.flushLocked()
	l.closed = true
	werr := l.err
	l.mu.Unlock()
	var cerr error
	if c, ok := l.w.(io.Closer); ok && l.closeWriter {
		if err := c.Close(); err != nil {
			cerr = fmt.Errorf("capture: closing writer: %w", err)
		}
	}
	return errors.Join(ierr, werr, cerr)
}

// Inner returns the wrapped link.
func (l *Link) Inner() link.Link { return l.inner }

// MTU is the wrapped link's MTU.
func (l *Link) MTU() int { return l.inner.MTU() }

// HardwareAddr is the wrapped link's address.
func (l *Link) HardwareAddr() [6]byte { return l.inner.HardwareAddr() }

// Pool is the wrapped link's pool.
func (l *Link) Pool() *link.Pool { return l.inner.Pool() }

// Fd is the wrapped link's file descriptor.
func (l *Link) Fd() int { return l.inner.Fd() }

// Stats are the wrapped link's counters; see CaptureStats for the
// capture's own.
func (l *Link) Stats() link.Stats { return l.inner.Stats() }

// Arm forwards to the wrapped link when it is a link.Waiter. Otherwise
// it returns false and registers nothing: a poller must then use Fd or
// keep polling.
func (l *Link) Arm(c chan<- struct{}) bool {
	if w, ok := l.inner.(link.Waiter); ok {
		return w.Arm(c)
	}
	return false
}

// MaxFrame is the wrapped link's MaxFrame when it implements link.GSO,
// otherwise MTU+18 (an Ethernet header and one VLAN tag): no GSO.
func (l *Link) MaxFrame() int {
	if g, ok := l.inner.(link.GSO); ok {
		return g.MaxFrame()
	}
	return l.inner.MTU() + 18
}
