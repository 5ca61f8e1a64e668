package tcp

import (
	"time"

	"github.com/ustack/ustack/tcp/seqnum"
	"github.com/ustack/ustack/wire"
)

// GSOOutput is an Output that can also send TCP super-segments: segments
// whose payload the link (or the kernel behind it) cuts into segSize-byte
// segments, the last one possibly shorter, each carrying a copy of the
// header and options with its own sequence number, and PSH and FIN only on
// the last (TSO/GSO). When Config.GSOMaxSize is set and the Output passed
// to the engine implements GSOOutput, runs of full-sized new-data segments
// decided by one send pass leave as one SendGSO call.
type GSOOutput interface {
	Output
	SendGSO(t *Tuple, h *wire.TCPHeader, opts *wire.TCPOptions, p1, p2 []byte, segSize int)
}

// gsoBatch collects the segments one push decides, so that contiguous
// full-sized ones are handed to the Output as one super-segment.
//
// The engine still decides and accounts every segment one at a time, by
// exactly the rules it uses without offload (windows, Nagle, cork, SWS
// avoidance, Linux's PSH placement, sequence and RTT bookkeeping): only
// the emission is merged. A batch ends at a short segment, a segment with
// PSH or FIN, a change of segment size, or GSOMaxSize; since the link puts
// PSH and FIN on the last piece only, the pieces on the wire are byte for
// byte the segments that would have been sent one by one. The send ring,
// the SACK scoreboard and the recovery code count bytes, not segments, so
// a super-segment needs no record of its own; retransmissions never batch
// (they leave one MSS at a time).
type gsoBatch struct {
	out    GSOOutput // set while push collects; nil otherwise
	seq    seqnum.Value
	n      int // payload bytes collected
	mss    int // size of each piece but the last
	pieces int
	flags  wire.TCPFlags
}

// gsoOutput reports whether push should collect segments for out.
func (c *Conn) gsoOutput(out Output) (GSOOutput, bool) {
	if c.cfg.GSOMaxSize < 2*c.sndMSS {
		return nil, false
	}
	g, ok := out.(GSOOutput)
	return g, ok
}

// gsoAdd adds the new-data segment [seq, seq+n) with flags to the batch,
// sending the batch when the segment ends it.
func (c *Conn) gsoAdd(now time.Duration, seq seqnum.Value, n int, flags wire.TCPFlags) {
	b := &c.gso
	mss := c.curMSS()
	if b.pieces > 0 && (seq != b.seq.Add(seqnum.Size(b.n)) || b.n+n > c.cfg.GSOMaxSize || b.mss != mss) {
		c.gsoFlush(now)
	}
	if b.pieces == 0 {
		b.seq, b.mss, b.flags = seq, mss, 0
	}
	b.n += n
	b.pieces++
	b.flags |= flags
	if n < mss || flags&(flagPSH|flagFIN) != 0 || b.n+mss > c.cfg.GSOMaxSize {
		c.gsoFlush(now)
	}
}

// gsoFlush sends what the batch holds: one plain segment, or a
// super-segment of several.
func (c *Conn) gsoFlush(now time.Duration) {
	b := &c.gso
	if b.pieces == 0 {
		return
	}
	off := int(b.seq.Sub(c.ringSeq))
	p1, p2 := c.ring.slices(off, b.n)
	seg := 0
	if b.pieces > 1 {
		seg = b.mss
		c.cnt.OutSegs += uint64(b.pieces - 1)
		c.segsOut += uint64(b.pieces - 1)
		c.cnt.TCPGSOFrames++
	}
	b.pieces, b.n = 0, 0
	c.emitSeg(now, b.out, b.seq, b.flags, p1, p2, false, seg)
}

// pushGSO is push collecting segments into super-segments for out.
func (c *Conn) pushGSO(now time.Duration, out GSOOutput) {
	c.gso.out = out
	c.pushLoop(now, out)
	c.gsoFlush(now)
	c.gso.out = nil
}
