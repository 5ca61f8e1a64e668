package tcp

import "time"

// Info is a snapshot of a connection, like Linux's struct tcp_info (what
// `ss -ti` shows).
type Info struct {
	State State
	// Options negotiated.
	Timestamps, SACK, WindowScaling bool
	SndWscale, RcvWscale            uint8 // shift applied to windows received / sent
	// Timing.
	RTT, RTTVar, MinRTT, RTO time.Duration
	Backoff                  int // RTO doublings in effect
	// Windows and sizes, bytes.
	SndMSS, RcvMSS, AdvMSS, PeerMSS int
	Cwnd, Ssthresh                  int
	SndWnd, RcvWnd                  uint32
	InFlight                        uint32 // SND.MAX - SND.UNA
	Unsent                          int    // queued, not yet sent
	RcvQueued, OOOQueued            int    // in-order and out-of-order bytes held
	// Counts.
	BytesSent, BytesAcked, BytesReceived, BytesRetrans uint64
	SegsOut, SegsIn                                    uint64
	TotalRetrans                                       uint64
	Retransmits                                        int // current RTO/SYN retry count
	Lost                                               uint32
	Sacked                                             uint32 // bytes SACKed above SND.UNA
	DupAcks                                            int
	Reordering                                         int // current duplicate-ACK threshold
	InRecovery                                         bool
	Probes                                             int
	CongestionControl                                  string
	// EstablishedAt is when the handshake completed (the caller's clock).
	EstablishedAt time.Duration
	// Sequence state.
	ISS, IRS, SndUna, SndNxt, RcvNxt uint32
}

// Info returns the connection's current Info.
func (c *Conn) Info() Info {
	in := Info{
		State:             c.state,
		Timestamps:        c.tsOK,
		SACK:              c.sackOK,
		WindowScaling:     c.wsOK,
		SndWscale:         c.sndWscale,
		RcvWscale:         c.rcvWscale,
		RTT:               c.rtt.SRTT(),
		RTTVar:            c.rtt.RTTVar(),
		MinRTT:            c.rtt.MinRTT(),
		RTO:               c.rtt.RTO(),
		Backoff:           c.rtt.Backoffs(),
		SndMSS:            c.sndMSS,
		RcvMSS:            c.rcvMSS,
		AdvMSS:            c.advMSS,
		PeerMSS:           c.peerMSS,
		Cwnd:              c.cc.Cwnd(),
		Ssthresh:          c.cc.Ssthresh(),
		SndWnd:            c.sndWnd,
		RcvWnd:            c.rcvWnd,
		InFlight:          uint32(c.sndMax.Sub(c.sndUna)),
		RcvQueued:         c.rcvQ.n,
		OOOQueued:         c.ooo.Len(),
		BytesSent:         c.bytesSent,
		BytesAcked:        c.bytesAcked,
		BytesReceived:     c.bytesReceived,
		BytesRetrans:      c.bytesRetrans,
		SegsOut:           c.segsOut,
		SegsIn:            c.segsIn,
		TotalRetrans:      c.totalRetrans,
		Retransmits:       c.retries,
		Lost:              c.lost,
		Sacked:            c.sb.sacked,
		DupAcks:           c.dupAcks,
		Reordering:        c.reordering,
		InRecovery:        c.inRecovery,
		Probes:            c.probes,
		CongestionControl: c.cc.Name(),
		EstablishedAt:     c.established,
		ISS:               uint32(c.iss),
		IRS:               uint32(c.irs),
		SndUna:            uint32(c.sndUna),
		SndNxt:            uint32(c.sndNxt),
		RcvNxt:            uint32(c.rcvNxt),
	}
	if end := c.dataEnd(); c.sndNxt.LessThan(end) {
		in.Unsent = int(end.Sub(c.sndNxt))
	}
	return in
}
