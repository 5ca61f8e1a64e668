package tcp

import (
	"time"

	"github.com/ustack/ustack/tcp/seqnum"
)

// Spurious retransmission undo and reordering adaptation (RFC 3708 with
// D-SACK, as Linux's tcp_try_undo_dsack and tcp_check_sack_reordering):
// every retransmission of a loss episode is counted; each D-SACK for data
// of the episode means one of them was not needed. When all of them were
// reported as duplicates, the loss was reordering: the congestion window
// reduction is undone and the duplicate-ACK threshold is raised to the
// reordering distance seen (at most MaxReordering).

// startUndoEpisode begins counting the retransmissions of a loss episode
// that starts with SND.UNA at una and data sent up to high.
func (c *Conn) startUndoEpisode(una, high seqnum.Value) {
	c.undoActive = true
	c.undoMarker, c.undoHigh = una, high
	c.undoRetrans = 0
}

// noteRetransmit counts a retransmitted segment for undo.
func (c *Conn) noteRetransmit() {
	if c.undoActive {
		c.undoRetrans++
	}
}

// noteDSACK accounts a D-SACK block [l, r): if it covers data of the
// current episode, one retransmission was spurious.
func (c *Conn) noteDSACK(l, r seqnum.Value) {
	if !c.undoActive || c.undoRetrans == 0 || l.LessThan(c.undoMarker) || !r.LessThanEq(c.undoHigh) {
		return
	}
	c.undoRetrans--
	if c.undoRetrans == 0 {
		c.undoPending = true
		// The reordering distance: how far beyond the "lost" segment
		// the peer had already SACKed data, in segments (Linux
		// tcp_check_sack_reordering).
		mss := max(c.sndMSS, 1)
		if c.fack.GreaterThan(l) {
			if metric := int(c.fack.Sub(l)); metric > c.reordering*mss {
				c.reordering = min((metric+mss-1)/mss, c.cfg.MaxReordering)
			}
		}
	}
}

// maybeUndo reverts the last window reduction when every retransmission
// of the episode proved spurious.
func (c *Conn) maybeUndo(now time.Duration) {
	if !c.undoPending {
		return
	}
	c.undoPending = false
	c.undoActive = false
	c.cnt.TCPDSACKUndo++
	c.cc.Undo(now)
	if c.inRecovery {
		c.inRecovery = false
		c.dupAcks, c.renoSacked = 0, 0
	}
	c.rtoRecover = false
}
