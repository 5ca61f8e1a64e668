package tcp

import (
	"reflect"
	"time"
)

// Counters are the protocol counters, named after Linux's /proc/net/snmp
// "Tcp:" and /proc/net/netstat "TcpExt:" lines. They are plain integers: a
// Counters value belongs to one shard (the goroutine that drives its
// connections); the stack sums per-shard copies for display.
type Counters struct {
	// Tcp: (RFC 4022 MIB)
	ActiveOpens  uint64 // connections that went SYN-SENT (Dial)
	PassiveOpens uint64 // connections that went SYN-RECEIVED from LISTEN
	AttemptFails uint64 // SYN-SENT/SYN-RECEIVED to CLOSED, or SYN-RECEIVED reset
	EstabResets  uint64 // ESTABLISHED/CLOSE-WAIT straight to CLOSED (reset, abort, timeout)
	CurrEstab    int64  // connections in ESTABLISHED or CLOSE-WAIT now
	InSegs       uint64 // segments received (including errors)
	OutSegs      uint64 // segments sent, excluding retransmissions
	RetransSegs  uint64 // segments retransmitted
	InErrs       uint64 // segments received in error
	OutRsts      uint64 // segments sent with RST

	// TcpExt:
	SyncookiesSent         uint64
	SyncookiesRecv         uint64
	SyncookiesFailed       uint64
	TCPChallengeACK        uint64 // challenge ACKs sent (RFC 5961)
	TCPSYNChallenge        uint64 // challenge ACKs sent in answer to a SYN
	PAWSEstab              uint64 // segments dropped by PAWS in synchronized states
	PAWSActive             uint64 // SYN-ACKs dropped by PAWS in SYN-SENT
	DelayedACKs            uint64 // delayed-ACK timer expirations that sent an ACK
	DelayedACKLost         uint64 // duplicate data received: our ACK was lost
	TCPTimeouts            uint64 // RTO expirations
	TCPFastRetrans         uint64 // segments retransmitted during fast recovery
	TCPSackRecovery        uint64 // recoveries started with SACK information
	TCPRenoRecovery        uint64 // recoveries started from duplicate ACKs alone
	TCPLostRetransmit      uint64 // retransmissions found lost again (resent in recovery, or RTO during recovery)
	TCPDSACKUndo           uint64 // window reductions undone: every retransmission was D-SACKed
	TCPLossProbes          uint64 // tail loss probes sent
	TCPLossProbeRecovery   uint64 // losses repaired by a tail loss probe
	TCPPureAcks            uint64 // ACKs without data received
	TCPHPAcks              uint64 // ACKs for new data received
	TCPDSACKOldSent        uint64 // DSACK blocks sent for old duplicates
	TCPDSACKOfoSent        uint64 // DSACK blocks sent for out-of-order duplicates
	TCPOFOQueue            uint64 // segments queued out of order
	TCPOFODrop             uint64 // out-of-order segments dropped (no room)
	TCPRcvQDrop            uint64 // in-order data dropped (no room)
	TCPZeroWindowDrop      uint64 // data dropped because the window was zero
	ListenOverflows        uint64 // handshakes refused: accept queue full
	ListenDrops            uint64 // SYNs and ACKs dropped by a listener
	TCPAbortOnData         uint64 // RST sent for data arriving after close
	TCPAbortOnClose        uint64 // RST sent on close with unread data
	TCPAbortOnTimeout      uint64 // aborted after retries or user timeout
	TCPAbortOnLinger       uint64 // RST sent by close with linger 0
	TCPKeepAliveProbes     uint64 // keepalive probes sent (not a Linux name)
	TCPWinProbe            uint64 // zero-window probes sent
	TCPSynRetrans          uint64 // SYN and SYN-ACK retransmissions
	TCPOrigDataSent        uint64 // segments with new data sent
	TCPACKSkippedSeq       uint64 // out-of-window ACKs suppressed by OOWACKInterval
	TCPACKSkippedChallenge uint64 // challenge ACKs suppressed by the rate limit
	TCPTimeWaitReuse       uint64 // TIME-WAIT connections replaced by a new SYN (TW_RECYCLED-like)
	TCPRcvCoalesce         uint64
	TCPGSOFrames           uint64 // super-segments handed to the Output for the link to cut (not a Linux name)
	TCPToZeroWindowAdv     uint64
	TCPFromZeroWindowAdv   uint64
	TCPReqQFullDoCookies   uint64 // SYN cookies sent because the SYN queue was full
	TCPReqQFullDrop        uint64 // SYNs dropped because the SYN queue was full
	EmbryonicRsts          uint64 // RSTs received in SYN-RECEIVED
	TW                     uint64 // TIME-WAIT connections that ended by timer
}

// Add adds every counter of o to c (to sum per-shard counters for
// display; not for the hot path).
func (c *Counters) Add(o *Counters) {
	dst, src := reflect.ValueOf(c).Elem(), reflect.ValueOf(o).Elem()
	for i := 0; i < dst.NumField(); i++ {
		f := dst.Field(i)
		switch f.Kind() {
		case reflect.Uint64:
			f.SetUint(f.Uint() + src.Field(i).Uint())
		case reflect.Int64:
			f.SetInt(f.Int() + src.Field(i).Int())
		}
	}
}

// RateLimiter is a token bucket driven by the caller's clock: at most Limit
// events per Interval, with a burst of Limit. It is not safe for concurrent
// use; share one per shard.
type RateLimiter struct {
	limit    int
	interval time.Duration
	tokens   int
	last     time.Duration
	started  bool
}

// NewRateLimiter returns a limiter allowing limit events per interval.
func NewRateLimiter(limit int, interval time.Duration) *RateLimiter {
	if limit < 1 {
		limit = 1
	}
	if interval <= 0 {
		interval = time.Second
	}
	return &RateLimiter{limit: limit, interval: interval, tokens: limit}
}

// Allow reports whether one more event may happen at now, and takes a token
// if so. Tokens refill continuously at limit per interval.
func (r *RateLimiter) Allow(now time.Duration) bool {
	if !r.started {
		r.started = true
		r.last = now
	}
	if el := now - r.last; el > 0 {
		add := int(int64(el) * int64(r.limit) / int64(r.interval))
		if add > 0 {
			r.tokens += add
			if r.tokens > r.limit {
				r.tokens = r.limit
			}
			// Advance by the time those tokens represent, keeping the rest.
			r.last += time.Duration(int64(add) * int64(r.interval) / int64(r.limit))
			if r.tokens == r.limit {
				r.last = now
			}
		}
	}
	if r.tokens <= 0 {
		return false
	}
	r.tokens--
	return true
}
