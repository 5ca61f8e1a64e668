package tcp

import (
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

// Linux carries the options a SYN cookie cannot hold in the low six bits of
// the SYN,ACK's TSval, which the peer echoes in TSecr: the peer's window
// scale (0xf: none) and SACK-permitted.
const (
	cookieTSBits   = 6
	cookieTSMask   = 1<<cookieTSBits - 1
	cookieNoWScale = 0xf
	cookieTSSACK   = 1 << 4
)

// cookieSYNWindow is the window of a cookie SYN,ACK.
func (l *Listener) cookieSYNWindow() uint16 {
	return uint16(min(l.cfg.InitRcvWnd, l.cfg.RcvBuf, 65535))
}

// sendCookie answers a SYN with a stateless SYN,ACK whose ISS is a cookie
// (SyncookiesSent).
func (l *Listener) sendCookie(now time.Duration, t Tuple, seg *Segment, out Output) {
	v6 := t.Local.Addr().Is6() && !t.Local.Addr().Is4In6()
	adv := l.cfg.advMSS(v6)
	mss := 536
	if seg.Opts.HasMSS && seg.Opts.MSS != 0 {
		mss = int(seg.Opts.MSS)
	}
	iss, _ := l.cookies.Make(now, t, seg.Seq, min(mss, adv))
	l.cnt.SyncookiesSent++
	var h wire.TCPHeader
	var o wire.TCPOptions
	h = wire.TCPHeader{SrcPort: t.Local.Port(), DstPort: t.Remote.Port(), Seq: uint32(iss),
		Ack: uint32(seg.Seq.Add(1)), Flags: flagSYN | flagACK, Window: l.cookieSYNWindow()}
	o.HasMSS, o.MSS = true, uint16(adv)
	tsOK := !l.cfg.DisableTimestamps && seg.Opts.HasTS
	if tsOK {
		// Options travel in TSval: only possible with timestamps.
		enc := uint32(cookieNoWScale)
		wsOK := !l.cfg.DisableWindowScaling && seg.Opts.HasWScale
		if wsOK {
			enc = uint32(seg.Opts.WScaleShift())
			o.HasWScale, o.WScale = true, l.cfg.rcvWscale()
		}
		if !l.cfg.DisableSACK && seg.Opts.SACKPermitted {
			enc |= cookieTSSACK
			o.SACKPermitted = true
		}
		tsNow := uint32(now/time.Millisecond) + tsOffsetFor(iss)
		ts := tsNow&^cookieTSMask | enc
		if int32(ts-tsNow) > 0 {
			ts -= cookieTSMask + 1
		}
		o.HasTS, o.TSVal, o.TSEcr = true, ts, seg.Opts.TSVal
	}
	l.cnt.OutSegs++
	l.rst.tuple = t
	l.rst.hdr, l.rst.opts = h, o
	out.Send(&l.rst.tuple, &l.rst.hdr, &l.rst.opts, nil, nil)
}

// cookieACK completes a handshake from the ACK of a cookie SYN,ACK (RFC
// 4987 §3.6): the connection is rebuilt from the cookie (MSS) and the
// echoed TSval (window scale, SACK), enters ESTABLISHED and the accept
// queue, and the segment is then processed by it. It returns nil when the
// ACK is not a valid cookie (the caller resets) and reports handled when
// the ACK was valid but dropped.
func (l *Listener) cookieACK(now time.Duration, t Tuple, seg *Segment, buf *link.Buf, out Output) (c *Conn, handled bool) {
	if l.cookies == nil || l.cfg.DisableSynCookies || !l.overflowed || now-l.lastOverflow > 2*time.Minute {
		return nil, false
	}
	iss := seg.Ack - 1
	mss, ok := l.cookies.Check(now, t, seg.Seq-1, iss)
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
	c.irs = seg.Seq - 1
	c.rcvNxt, c.rcvWup = seg.Seq, seg.Seq
	c.sndUna, c.sndNxt, c.sndMax = seg.Ack, seg.Ack, seg.Ack
	c.ringSeq = seg.Ack
	c.sndSml = seg.Ack
	c.recover = seg.Ack
	c.peerMSS = mss
	c.tsOK = !c.cfg.DisableTimestamps && seg.Opts.HasTS
	c.wsOK, c.sackOK = false, false
	c.sndWscale, c.rcvWscale = 0, 0
	if c.tsOK {
		enc := seg.Opts.TSEcr & cookieTSMask
		if ws := enc & 0xf; ws != cookieNoWScale && !c.cfg.DisableWindowScaling {
			c.wsOK = true
			c.sndWscale = uint8(min(ws, 14))
			c.rcvWscale = c.cfg.rcvWscale()
		}
		c.sackOK = enc&cookieTSSACK != 0 && !c.cfg.DisableSACK
		c.tsRecent, c.tsRecentTime = seg.Opts.TSVal, now
	}
	c.setSndMSS()
	c.rcvMSS = max(min(c.advMSS, c.sndMSS, 536), 88)
	c.rcvWnd = uint32(l.cookieSYNWindow())
	c.sndWnd = uint32(seg.Window) << c.sndWscale
	c.maxSndWnd = c.sndWnd
	c.sndWl1, c.sndWl2 = seg.Seq, seg.Ack
	c.establish(now)
	l.cnt.PassiveOpens++
	l.enqueue(c)
	c.cnt.InSegs-- // counted by the listener already
	c.Input(now, seg, buf, out)
	return c, true
}
