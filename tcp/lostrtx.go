package tcp

import "github.com/ustack/ustack/tcp/seqnum"

// Lost retransmission detection during SACK recovery (what Linux's
// tcp_mark_lost_retrans did before RACK): each retransmitted range
// remembers SND.MAX when it was sent. Once the peer SACKs data beyond that
// mark, data sent after the retransmission has arrived while the
// retransmission has not: it was lost too, and is sent again at once
// instead of waiting for the RTO.

// maxRtxRecords bounds the retransmissions tracked per recovery episode;
// beyond it the RTO remains the backstop.
const maxRtxRecords = 32

type rtxRecord struct {
	l, r, mark seqnum.Value
	lost       bool
}

type rtxRecords struct {
	rec [maxRtxRecords]rtxRecord
	n   int
}

func (t *rtxRecords) reset() { t.n = 0 }

// add remembers a retransmission of [l, r) sent while SND.MAX was mark
// (marked lost already when lost is set). It reports false when full.
func (t *rtxRecords) add(l, r, mark seqnum.Value, lost bool) bool {
	if t.n == maxRtxRecords {
		return false
	}
	t.rec[t.n] = rtxRecord{l: l, r: r, mark: mark, lost: lost}
	t.n++
	return true
}

// update drops records the peer has acknowledged or SACKed and marks as
// lost those overtaken by SACKed data sent after them.
func (c *Conn) updateRtxRecords() {
	t := &c.rtxRec
	k := 0
	for i := 0; i < t.n; i++ {
		r := t.rec[i]
		if r.r.LessThanEq(c.sndUna) || c.sb.unsackedIn(seqnum.Max(r.l, c.sndUna), r.r) == 0 {
			continue
		}
		if !r.lost && c.fack.GreaterThan(r.mark) {
			r.lost = true
		}
		t.rec[k] = r
		k++
	}
	t.n = k
}

// nextLostRetransmit returns a retransmission found lost, to resend first.
func (c *Conn) nextLostRetransmit() (i int, ok bool) {
	for i := 0; i < c.rtxRec.n; i++ {
		if c.rtxRec.rec[i].lost {
			return i, true
		}
	}
	return 0, false
}
