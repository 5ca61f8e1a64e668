package tcp

import (
	"time"

	"github.com/ustack/ustack/tcp/seqnum"
	"github.com/ustack/ustack/wire"
)

// TIME-WAIT input, one implementation for a Conn in TIME-WAIT and for the
// compact record a TimeWaitTable keeps in its place (twtable.go).
//
// In TIME-WAIT the connection sends nothing of its own: it answers old
// duplicates and the peer's retransmitted FIN with an ACK (restarting
// 2*MSL on a FIN), checks PAWS, ends on an in-window RST, answers an
// in-window SYN or an odd RST with a challenge ACK, and lets a newer SYN
// start a new incarnation (AcceptSYNInTimeWait). twState is everything
// that needs: no pointer, so a table of them costs the garbage collector
// nothing.

// twState is the part of a connection TIME-WAIT input reads and changes.
type twState struct {
	sndNxt, sndMax seqnum.Value // SND.NXT (a reuse's ISS) and SND.MAX (what ACKs carry)
	sndUna         seqnum.Value
	rcvNxt, rcvWup seqnum.Value
	rcvWnd         uint32 // window advertised with the last ACK, bytes
	maxSndWnd      uint32 // largest window the peer offered
	rcvSsthresh    uint32 // window clamp
	rcvMSS         uint32 // estimate of the peer's segment size
	tsOffset       uint32
	tsRecent       uint32
	tsRecentTime   time.Duration
	lastOOWAck     time.Duration
	dsack          wire.SACKBlock // a duplicate to report in the next ACK (hasDSACK)
	rcvWscale      uint8
	tsOK, sackOK   bool
	oowAckSent     bool
	hasDSACK       bool
}

// twAction is what a segment in TIME-WAIT asks the connection to do.
type twAction uint8

const (
	twNone      twAction = iota
	twAck                // send <SEQ=SND.MAX><ACK=RCV.NXT><CTL=ACK>
	twChallenge          // send a challenge ACK, subject to the shared limit
	twClose              // an in-window RST: the connection ends (CLOSED)
)

// twResult is the outcome of one segment in TIME-WAIT.
type twResult struct {
	act     twAction
	restart bool // a retransmitted FIN: TIME-WAIT lasts another 2*MSL from now
	seen    bool // the segment passed the checks up to the ACK field (keepalive's last receive time)
}

// twState copies a TIME-WAIT connection's state out.
func (c *Conn) twState() twState {
	return twState{
		sndNxt: c.sndNxt, sndMax: c.sndMax, sndUna: c.sndUna,
		rcvNxt: c.rcvNxt, rcvWup: c.rcvWup, rcvWnd: c.rcvWnd,
		maxSndWnd: c.maxSndWnd, rcvSsthresh: c.rcvSsthresh, rcvMSS: uint32(max(c.rcvMSS, 0)),
		tsOffset: c.tsOffset, tsRecent: c.tsRecent, tsRecentTime: c.tsRecentTime,
		lastOOWAck: c.lastOOWAck, dsack: c.dsack, rcvWscale: c.rcvWscale,
		tsOK: c.tsOK, sackOK: c.sackOK, oowAckSent: c.oowAckSent, hasDSACK: c.hasDSACK,
	}
}

// inputTimeWait is SEGMENT ARRIVES in TIME-WAIT for a Conn: the shared
// decision (twState.input), carried out with the Conn's own output.
func (c *Conn) inputTimeWait(now time.Duration, seg *Segment, out Output) {
	s := c.twState()
	r := s.input(now, seg, &c.cfg, c.cnt)
	c.tsRecent, c.tsRecentTime = s.tsRecent, s.tsRecentTime
	c.oowAckSent, c.lastOOWAck = s.oowAckSent, s.lastOOWAck
	c.dsack, c.hasDSACK = s.dsack, s.hasDSACK
	if r.seen {
		c.lastRecv = now
		c.probes = 0
	}
	if r.restart {
		c.arm(timerTimeWait, now+c.cfg.TimeWait)
	}
	switch r.act {
	case twAck:
		c.ackNow = true // sent by EndRun
	case twChallenge:
		c.challengeAck(now, out)
	case twClose:
		c.rcvQ.free()
		c.toClosed()
	}
}

// input is RFC 9293 §3.10.7.4 for TIME-WAIT, in the RFC's order as for
// the other synchronized states: sequence check with PAWS (RFC 7323 §5.3),
// RST (RFC 5961 §3), SYN (RFC 5961 §4), ACK (RFC 5961 §5); text and FIN
// are not processed. A segment outside the window — the peer's
// retransmitted FIN among them, which restarts 2*MSL — is answered with
// an ACK, rate-limited when it carries nothing (oowAck).
func (s *twState) input(now time.Duration, seg *Segment, cfg *Config, cnt *Counters) twResult {
	if s.tsOK && seg.Opts.HasTS && !seg.has(flagRST) && s.pawsReject(now, seg, cfg) {
		cnt.PAWSEstab++
		return twResult{act: s.oowAck(now, seg, cfg, cnt)}
	}
	if !s.acceptable(seg) {
		if seg.has(flagRST) {
			return twResult{}
		}
		if n := seqnum.Size(len(seg.Payload)); n > 0 && seg.Seq.Add(n).LessThanEq(s.rcvNxt) {
			cnt.DelayedACKLost++
			if !cfg.DisableDSACK && s.sackOK {
				s.dsack = wire.SACKBlock{Left: uint32(seg.Seq), Right: uint32(seg.Seq.Add(n))}
				s.hasDSACK = true
				cnt.TCPDSACKOldSent++
			}
		}
		return twResult{act: s.oowAck(now, seg, cfg, cnt), restart: seg.has(flagFIN)}
	}
	if seg.has(flagRST) {
		if seg.Seq != s.rcvNxt {
			return twResult{act: twChallenge}
		}
		return twResult{act: twClose} // (Linux without RFC 1337 protection)
	}
	if seg.has(flagSYN) {
		cnt.TCPSYNChallenge++
		return twResult{act: twChallenge}
	}
	if !seg.has(flagACK) {
		return twResult{}
	}
	if s.tsOK && seg.Opts.HasTS && seg.Seq.LessThanEq(s.rcvWup) {
		// RFC 7323 §4.3 (Last.ACK.sent rule): remember TSval.
		s.tsRecent, s.tsRecentTime = seg.Opts.TSVal, now
	}
	if seg.Ack.GreaterThan(s.sndMax) {
		return twResult{act: twAck} // an ACK for data never sent
	}
	if s.maxSndWnd > 0 && seg.Ack.LessThan(seqnum.Value(uint32(s.sndUna)-s.maxSndWnd)) {
		return twResult{act: twChallenge}
	}
	// The only thing expected is a retransmitted FIN (above).
	return twResult{seen: true}
}

// pawsReject is Conn.pawsReject on the record.
func (s *twState) pawsReject(now time.Duration, seg *Segment, cfg *Config) bool {
	if int32(seg.Opts.TSVal-s.tsRecent) >= 0 {
		return false
	}
	if now-s.tsRecentTime > cfg.PAWSIdle {
		s.tsRecent, s.tsRecentTime = seg.Opts.TSVal, now
		return false
	}
	return true
}

// curWindow is what remains of the window last advertised.
func (s *twState) curWindow() uint32 {
	right := s.rcvWup.Add(seqnum.Size(s.rcvWnd))
	if right.LessThanEq(s.rcvNxt) {
		return 0
	}
	return uint32(right.Sub(s.rcvNxt))
}

// acceptable is Conn.acceptable's test (TIME-WAIT has no use for the
// zero-window text rule: text is never processed).
func (s *twState) acceptable(seg *Segment) bool {
	wnd := seqnum.Size(s.curWindow())
	n := seg.segLen()
	switch {
	case n == 0 && wnd == 0:
		return seg.Seq == s.rcvNxt
	case n == 0:
		return seg.Seq.InWindow(s.rcvNxt, wnd)
	case wnd == 0:
		return seg.Seq == s.rcvNxt
	default:
		last := seg.Seq.Add(n - 1)
		return seg.Seq.InWindow(s.rcvNxt, wnd) || last.InWindow(s.rcvNxt, wnd)
	}
}

// oowAck is Conn.oowAck: an ACK, at most one per OOWACKInterval for
// segments that carry nothing.
func (s *twState) oowAck(now time.Duration, seg *Segment, cfg *Config, cnt *Counters) twAction {
	if seg.segLen() == 0 {
		if s.oowAckSent && now-s.lastOOWAck < cfg.OOWACKInterval {
			cnt.TCPACKSkippedSeq++
			return twNone
		}
		s.oowAckSent, s.lastOOWAck = true, now
	}
	return twAck
}

// acceptSYN is the RFC 6191 test of AcceptSYNInTimeWait: with timestamps
// on both, a SYN whose TSval is newer than TS.Recent; without, one whose
// sequence number is beyond RCV.NXT. iss is beyond anything this
// incarnation sent, as Linux picks it.
func (s *twState) acceptSYN(seg *Segment, cnt *Counters) (iss seqnum.Value, ok bool) {
	if !seg.has(flagSYN) || seg.has(flagACK|flagRST) {
		return 0, false
	}
	if s.tsOK && seg.Opts.HasTS {
		ok = int32(seg.Opts.TSVal-s.tsRecent) > 0
	} else {
		ok = seg.Seq.GreaterThan(s.rcvNxt)
	}
	if !ok {
		return 0, false
	}
	cnt.TCPTimeWaitReuse++
	return s.sndNxt.Add(65535 + 2), true
}

// ack builds the ACK of a TIME-WAIT record into h and o, as Conn.sendAck
// builds it: SND.MAX, RCV.NXT, the window (selectWindow's rule with empty
// queues), timestamps, and the D-SACK block owed if any.
func (s *twState) ack(now time.Duration, t *Tuple, h *wire.TCPHeader, o *wire.TCPOptions, cfg *Config, cnt *Counters) {
	*h = wire.TCPHeader{SrcPort: t.Local.Port(), DstPort: t.Remote.Port(), Seq: uint32(s.sndMax), Ack: uint32(s.rcvNxt), Flags: flagACK}
	*o = wire.TCPOptions{}
	if s.tsOK {
		o.HasTS, o.TSVal, o.TSEcr = true, uint32(now/time.Millisecond)+s.tsOffset, s.tsRecent
	}
	wnd := offerWindow(cfg.winSpace(), 0, s.rcvSsthresh, s.rcvMSS, s.curWindow(), s.rcvWscale)
	if wnd == 0 && s.rcvWnd != 0 {
		cnt.TCPToZeroWindowAdv++
	}
	s.rcvWup = s.rcvNxt
	w := wnd >> s.rcvWscale
	if w > 65535 {
		w = 65535
		wnd = w << s.rcvWscale
	}
	s.rcvWnd = wnd
	h.Window = uint16(w)
	if s.sackOK && s.hasDSACK && !cfg.DisableDSACK && s.dsack.Left != s.dsack.Right {
		o.SACK[0] = s.dsack
		o.NumSACK = 1
	}
	s.hasDSACK = false
	cnt.OutSegs++
}

// allowChallenge applies the shared RFC 5961 challenge-ACK budget and
// counts the outcome.
func allowChallenge(now time.Duration, cfg *Config, cnt *Counters) bool {
	if !cfg.ChallengeACKLimiter.Allow(now) {
		cnt.TCPACKSkippedChallenge++
		return false
	}
	cnt.TCPChallengeACK++
	return true
}
