package tcp

import (
	"errors"
	"testing"
	"time"
)

func TestSetKeepAliveParams(t *testing.T) {
	c := &Conn{cfg: Linux()}
	if err := c.SetKeepAliveParams(0, 10*time.Second, 2*time.Second, 3); err != nil {
		t.Fatal(err)
	}
	if c.cfg.KeepIdle != 10*time.Second || c.cfg.KeepIntvl != 2*time.Second || c.cfg.KeepCnt != 3 {
		t.Fatalf("got idle %v intvl %v cnt %d", c.cfg.KeepIdle, c.cfg.KeepIntvl, c.cfg.KeepCnt)
	}
	if err := c.SetKeepAliveParams(0, 0, 0, 5); err != nil || c.cfg.KeepIdle != 10*time.Second || c.cfg.KeepCnt != 5 {
		t.Fatalf("zero arguments must keep values: %v %v %d", err, c.cfg.KeepIdle, c.cfg.KeepCnt)
	}
	for _, bad := range []struct {
		idle, intvl time.Duration
		cnt         int
	}{{time.Millisecond, 0, 0}, {0, 40000 * time.Second, 0}, {0, 0, 128}, {0, 0, -1}} {
		if err := c.SetKeepAliveParams(0, bad.idle, bad.intvl, bad.cnt); !errors.Is(err, ErrConfig) {
			t.Errorf("SetKeepAliveParams(%v, %v, %d) = %v, want ErrConfig", bad.idle, bad.intvl, bad.cnt, err)
		}
	}
}

func TestSetBuffersDoubleAsLinux(t *testing.T) {
	c := &Conn{cfg: Linux()}
	c.ring.size = c.cfg.SndBuf
	c.SetSendBuffer(21000)
	if c.SendBuffer() != 42000 || c.ring.size != 42000 {
		t.Fatalf("SndBuf %d ring %d after setting 21000, want 42000", c.SendBuffer(), c.ring.size)
	}
	c.ring.n = 30000 // queued: shrinking keeps it
	c.SetSendBuffer(1000)
	if c.SendBuffer() != 4096 || c.ring.size != 30000 || c.ring.free() != 0 {
		t.Fatalf("shrunk: SndBuf %d ring size %d free %d", c.SendBuffer(), c.ring.size, c.ring.free())
	}
	c.SetReceiveBuffer(21000)
	if c.ReceiveBuffer() != 42000 {
		t.Fatalf("RcvBuf %d after setting 21000, want 42000", c.ReceiveBuffer())
	}
	c.SetReceiveBuffer(1 << 30)
	if c.ReceiveBuffer() != c.cfg.RcvBufMax {
		t.Fatalf("RcvBuf %d, want the RcvBufMax clamp %d", c.ReceiveBuffer(), c.cfg.RcvBufMax)
	}
}
