package tcp

import (
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/tcp/internal/syncookie"
	"github.com/ustack/ustack/wire"
)

// cookieSYNWindow is the window of a cookie SYN,ACK.
func (l *Listener) cookieSYNWindow() uint16 {
	return uint16(min(l.cfg.initRcvWnd(l.cfg.advMSS(false)), 65535))
}

// sendCookie answers a SYN with a stateless SYN,ACK whose ISS is a SYN
// cookie (RFC 4987 §3.6, Linux's encoding: MSS from a table in the cookie,
// window scale and SACK-permitted in the low bits of TSval, which the peer
// echoes; without timestamps those options are lost).
func (l *Listener) sendCookie(now time.Duration, t Tuple, seg *Segment, out Output) {
	v6 := t.Local.Addr().Is6() && !t.Local.Addr().Is4In6()
	adv := l.cfg.advMSS(v6)
	mss := 536
	if seg.Opts.HasMSS && seg.Opts.MSS != 0 {
		mss = int(seg.Opts.MSS)
	}
	tsOK := !l.cfg.DisableTimestamps && seg.Opts.HasTS
	var opts syncookie.Options
	if !l.cfg.DisableWindowScaling && seg.Opts.HasWScale {
		opts.HasWScale, opts.WScale = true, seg.Opts.WScaleShift()
	}
	opts.SACKPermitted = !l.cfg.DisableSACK && seg.Opts.SACKPermitted
	tsNow := uint32(now/time.Millisecond) + l.secrets.tsOffset(t)
	iss, tsval, _ := l.secrets.cookies.Encode(syncookie.Tuple(t), uint32(seg.Seq), min(mss, adv), opts, tsOK, tsNow, now)
	l.cnt.SyncookiesSent++
	h := &l.rst.hdr
	o := &l.rst.opts
	*h = wire.TCPHeader{SrcPort: t.Local.Port(), DstPort: t.Remote.Port(), Seq: iss,
		Ack: uint32(seg.Seq.Add(1)), Flags: flagSYN | flagACK, Window: l.cookieSYNWindow()}
	*o = wire.TCPOptions{HasMSS: true, MSS: uint16(adv)}
	if tsOK {
		o.HasTS, o.TSVal, o.TSEcr = true, tsval, seg.Opts.TSVal
		o.SACKPermitted = opts.SACKPermitted
		if opts.HasWScale {
			o.HasWScale, o.WScale = true, l.cfg.rcvWscale()
		}
	}
	l.cnt.OutSegs++
	l.rst.tuple = t
	out.Send(&l.rst.tuple, h, o, nil, nil)
}

// cookieACK completes a handshake from the ACK of a cookie SYN,ACK: the
// connection is rebuilt from the cookie (MSS) and the echoed TSval (window
// scale, SACK), enters ESTABLISHED and the accept queue, and then processes
// the segment itself. handled is false when the ACK is no valid cookie
// (the caller resets); a valid cookie that cannot be used (accept queue
// full) is dropped with handled true.
func (l *Listener) cookieACK(now time.Duration, t Tuple, seg *Segment, buf *link.Buf, out Output) (c *Conn, handled bool) {
	if l.cfg.DisableSynCookies || !l.overflowed || now-l.lastOverflow > 2*time.Minute {
		return nil, false
	}
	iss := seg.Ack - 1
	d, ok := l.secrets.cookies.Check(syncookie.Tuple(t), uint32(iss), uint32(seg.Seq-1), seg.Opts.HasTS, seg.Opts.TSEcr, now)
	if !ok {
		l.cnt.SyncookiesFailed++
		return nil, false
	}
	l.cnt.SyncookiesRecv++
	if l.accept.n >= l.cfg.Backlog {
		l.cnt.ListenOverflows++
		l.cnt.ListenDrops++
		buf.Free()
		return nil, true
	}
	c, err := newConn(now, l.cfg, t, iss)
	if err != nil {
		buf.Free()
		return nil, true
	}
	c.tsOffset = l.secrets.tsOffset(t)
	c.irs = seg.Seq - 1
	c.rcvNxt, c.rcvWup = seg.Seq, seg.Seq
	c.sndUna, c.sndNxt, c.sndMax = seg.Ack, seg.Ack, seg.Ack
	c.ringSeq, c.sndSml, c.recover, c.pushedSeq = seg.Ack, seg.Ack, seg.Ack, seg.Ack
	c.peerMSS = d.MSS
	c.tsOK = !c.cfg.DisableTimestamps && seg.Opts.HasTS
	c.wsOK, c.sackOK = false, false
	c.sndWscale, c.rcvWscale = 0, 0
	if c.tsOK {
		if d.HasWScale && !c.cfg.DisableWindowScaling {
			c.wsOK = true
			c.sndWscale = d.WScale
			c.rcvWscale = c.cfg.rcvWscale()
		}
		c.sackOK = d.SACKPermitted && !c.cfg.DisableSACK
		c.tsRecent, c.tsRecentTime = seg.Opts.TSVal, now
	}
	c.setSndMSS()
	c.rcvMSS = max(min(c.advMSS, c.sndMSS, 536), 88)
	c.rcvWnd = c.rcvSsthresh // the whole initial window, as after any SYN,ACK
	c.sndWnd = uint32(seg.Window) << c.sndWscale
	c.maxSndWnd = c.sndWnd
	c.sndWl1, c.sndWl2 = seg.Seq, seg.Ack
	c.establish(now)
	l.cnt.PassiveOpens++
	l.enqueue(c)
	c.cnt.InSegs-- // the listener counted it already
	c.Input(now, seg, buf, out)
	return c, true
}
