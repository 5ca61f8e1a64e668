package reasm

import "github.com/ustack/ustack/wire"

// Block is a SACK block [Left, Right) in sequence space: the wire type, so
// that SACKBlocks can fill wire.TCPOptions.SACK directly.
type Block = wire.SACKBlock

// MaxSACKBlocks is the most SACK blocks a TCP header can carry (3 when the
// timestamp option is present too: pass a dst of length 3 then).
const MaxSACKBlocks = 4

// SACKBlocks writes the SACK blocks for the next ACK into dst and returns
// how many it wrote, at most min(len(dst), 4).
//
// If dsack is non-empty (Left != Right) it goes first, as the D-SACK block
// of RFC 2883 (Insert's DupLeft/DupRight, or a duplicate below rcv.nxt that
// the engine found). Then come the held runs, most recently changed first
// (RFC 2018 section 4): the first is the run holding the segment that
// arrived last, followed by the runs updated before it, which repeats the
// most recently reported blocks. A duplicate that fell inside held data
// touches its run, so the run containing a D-SACK block comes second, as
// RFC 2883 section 4 asks.
func (q *Queue) SACKBlocks(dst []Block, dsack Block) int {
	max := len(dst)
	if max > MaxSACKBlocks {
		max = MaxSACKBlocks
	}
	n := 0
	if dsack.Left != dsack.Right && n < max {
		dst[n] = dsack
		n++
	}
	prev := ^uint64(0)
	for n < max {
		best := -1
		for k := range q.runs {
			st := q.runs[k].stamp
			if st < prev && (best < 0 || st > q.runs[best].stamp) {
				best = k
			}
		}
		if best < 0 {
			break
		}
		dst[n] = Block{Left: q.runs[best].start, Right: q.runs[best].end}
		prev = q.runs[best].stamp
		n++
	}
	return n
}
