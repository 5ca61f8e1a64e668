package tcp

import (
	"fmt"
	"time"
)

// SetKeepAliveParams sets this connection's keepalive idle time, probe
// interval and probe count (Linux TCP_KEEPIDLE, TCP_KEEPINTVL,
// TCP_KEEPCNT; the same ranges: 1 s to 32767 s, 1 to 127 probes). A zero
// argument keeps the current value. When keepalive is on, the timer is
// re-armed from the last segment received, as Linux does.
func (c *Conn) SetKeepAliveParams(now time.Duration, idle, intvl time.Duration, cnt int) error {
	const maxKeep = 32767 * time.Second
	if idle != 0 && (idle < time.Second || idle > maxKeep) {
		return fmt.Errorf("%w: keepalive idle %v out of range [1s, %v]", ErrConfig, idle, maxKeep)
	}
	if intvl != 0 && (intvl < time.Second || intvl > maxKeep) {
		return fmt.Errorf("%w: keepalive interval %v out of range [1s, %v]", ErrConfig, intvl, maxKeep)
	}
	if cnt != 0 && (cnt < 1 || cnt > 127) {
		return fmt.Errorf("%w: keepalive count %d out of range [1, 127]", ErrConfig, cnt)
	}
	if idle != 0 {
		c.cfg.KeepIdle = idle
	}
	if intvl != 0 {
		c.cfg.KeepIntvl = intvl
	}
	if cnt != 0 {
		c.cfg.KeepCnt = cnt
	}
	c.armKeepalive(now)
	return nil
}

// SetSendBuffer sets the most bytes the send ring may hold (unsent plus
// unacknowledged) to twice n, as Linux's SO_SNDBUF doubles what it is
// given, bounded to [4096, 1<<30]. Shrinking below what is queued keeps the
// queued bytes and accepts no more until they drain below the new size.
func (c *Conn) SetSendBuffer(n int) {
	size := min(max(2*n, 4096), 1<<30)
	c.cfg.SndBuf = size
	c.ring.size = max(size, c.ring.n)
}

// SendBuffer is the send ring's current limit in bytes.
func (c *Conn) SendBuffer() int { return c.cfg.SndBuf }

// SetReceiveBuffer sets the receive buffer to twice n, as Linux's SO_RCVBUF
// does, bounded to [2048, RcvBufMax]. Half of it is offered as window. The
// window scale, fixed by the handshake, does not change, and an advertised
// window is never withdrawn: a smaller buffer shows in the windows that
// follow as data is consumed.
func (c *Conn) SetReceiveBuffer(n int) {
	c.cfg.RcvBuf = min(max(2*n, 2048), c.cfg.RcvBufMax)
}

// ReceiveBuffer is the receive buffer's current size in bytes.
func (c *Conn) ReceiveBuffer() int { return c.cfg.RcvBuf }
