// Package cc is TCP congestion control: the Algorithm interface the
// connection engine drives, NewReno (RFC 5681, RFC 6582), CUBIC (RFC 9438),
// a registry that builds an algorithm by name, and PRR (RFC 6937), the
// helper that paces sending during loss recovery.
//
// Everything is in bytes, never segments. Algorithms are sans-I/O: time is
// passed in as now, a monotonic duration since an arbitrary epoch.
//
// # How the engine drives an Algorithm
//
// The calls, in the order a connection makes them:
//
//   - Init(mss, now) once the handshake completes (the MSS is the
//     effective send MSS). cwnd becomes the initial window (Config,
//     default 10 segments, RFC 6928 as Linux applies it) and ssthresh is
//     "infinite" (InfiniteSsthresh). Init may be called again to start
//     over. SetMSS changes the MSS later (path MTU discovery).
//
//   - OnAck(acked, rtt, inflight, now, appLimited) for every ACK that
//     delivers new data: acked is the bytes newly delivered by this ACK
//     (cumulative advance of snd.una plus bytes newly SACKed), rtt the
//     current smoothed RTT (0 before the first sample), inflight the bytes
//     still in flight after the ACK (RFC 6675 pipe), appLimited whether
//     the sender failed to use its window (see CwndLimited; Linux grows
//     cwnd only while cwnd-limited). OnAck grows cwnd in slow start and
//     congestion avoidance. Between OnCongestion(FastRetransmit or ECN)
//     and OnRecoveryExit it grows nothing: during recovery the engine
//     paces its sending with PRR and the ssthresh reported here.
//
//   - OnRTTSample(rtt, now), optional (RTTObserver), for every valid RTT
//     sample, before the OnAck of the ACK that produced it; only HyStart++
//     uses it.
//
//   - OnCongestion(event, inflight, now) once per congestion episode:
//     FastRetransmit when loss is detected by duplicate ACKs, SACK or RACK
//     and recovery starts (RFC 6582: not again until the recovery point,
//     snd.nxt at entry, is acknowledged — repeated calls while in recovery
//     are ignored); ECN when an ACK carries ECE outside recovery (RFC 3168:
//     at most once per window of data; the engine then sets CWR); RTO when
//     the retransmission timer fires for a segment for the first time, and
//     RepeatedRTO when it fires again for a segment already retransmitted
//     by timeout (RFC 5681 section 3.1: ssthresh is then held). On
//     FastRetransmit and ECN, ssthresh is reduced and cwnd set to it; the
//     engine starts PRR with Ssthresh(). On RTO, cwnd drops to one segment
//     (the loss window) and slow start resumes with OnAck.
//
//   - OnRecoveryExit(now) when fast recovery (or ECN's CWR reduction) ends:
//     the ACK covers the recovery point. cwnd is set to ssthresh (RFC 6937
//     section 3; RFC 6582 section 3.2 step 3 allows it). It is not called
//     after RTO recovery.
//
//   - Undo(now) when the last reduction proves spurious (F-RTO RFC 5682,
//     D-SACK RFC 3708, Eifel RFC 3522): cwnd and ssthresh return to at
//     least their values before it, and recovery state is cleared.
//
// Cwnd and Ssthresh may be read at any time.
//
// # NewReno
//
// Slow start grows cwnd by the bytes acknowledged, at most L·MSS per ACK
// (appropriate byte counting, RFC 3465, L = 2), and not beyond ssthresh;
// the excess of an ACK that crosses ssthresh is counted toward congestion
// avoidance. Congestion avoidance adds one MSS each time a full cwnd of
// bytes has been acknowledged (RFC 5681 section 3.1, byte counting). A loss
// sets ssthresh = max(FlightSize/2, 2·MSS) (RFC 5681 equation 4; Linux's
// reno halves cwnd instead, the same thing when the sender is cwnd-limited).
//
// The RFC 6582 part belongs to the engine: recovery lasts until snd.una
// passes the recovery point; a partial ACK retransmits the next hole and
// does not end recovery; a full ACK ends it (OnRecoveryExit). Instead of
// RFC 6582's window inflation by duplicate ACKs the engine uses PRR, as
// Linux does.
//
// # CUBIC
//
// RFC 9438 with C = 0.4 and beta_cubic = 0.7 (Config): the window follows
// W_cubic(t) = C·(t−K)³ + W_max with t the time since the congestion
// avoidance epoch began and K = ∛((W_max − cwnd_epoch)/C); each ACK moves
// cwnd toward W_cubic(t+RTT), clamped to [cwnd, 1.5·cwnd] (section 4.4,
// 4.5). The Reno-friendly estimate W_est grows by alpha_cubic =
// 3(1−β)/(1+β) segments per window (1 once W_est reaches cwnd_prior) and
// wins when larger (section 4.3). A congestion event records W_max, with
// fast convergence (section 4.7: W_max = cwnd·(1+β)/2 when cwnd is below
// the previous W_max), and sets ssthresh = max(cwnd·β, 2·MSS) as Linux
// does. An epoch with cwnd_epoch above W_max starts at its origin (K = 0),
// as Linux does. While app-limited the window does not grow and the epoch
// is shifted forward by the time spent (RFC 9438 section 5.8, Linux's
// idle handling), so no jump follows.
//
// Slow start is the NewReno one.
//
// # HyStart++
//
// Config.HyStart enables HyStart++ (RFC 9406) in the initial slow start of
// either algorithm: when a round's minimum RTT exceeds the previous
// round's by max(4 ms, min(16 ms, minRTT/8)) (after 8 samples), slow start
// turns conservative (growth divided by 4); if the RTT falls back it
// resumes, and after 5 conservative rounds slow start ends with
// ssthresh = cwnd. It needs every valid RTT sample through the RTTObserver
// interface (OnRTTSample, before the OnAck of the same ACK); rounds are
// tracked from OnAck's acked and inflight. It is off by default: Linux's
// CUBIC runs its own, older HyStart (ACK-train and delay detection), which
// is not implemented here, so by default slow start ends on loss, ECN or
// at ssthresh only.
package cc
