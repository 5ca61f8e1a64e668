package tcp

import (
	"errors"
	"io"
	"testing"
	"time"
)

// readAll drains the receive queue and checks the payload pattern (byte i
// of the stream from sequence number seq0 is byte(seq0+i)).
func (h *harness) readAll(seq0 uint32, want int) {
	h.t.Helper()
	buf := make([]byte, want+100)
	n, err := h.c.Read(buf, h.now, h.rec)
	if err != nil || n != want {
		h.t.Fatalf("Read = %d, %v; want %d", n, err, want)
	}
	for i := 0; i < n; i++ {
		if buf[i] != byte(seq0+uint32(i)) {
			h.t.Fatalf("byte %d = %d, want %d", i, buf[i], byte(seq0+uint32(i)))
		}
	}
}

// Quick-ACK mode at connection start acknowledges every segment at once
// (16 of them, Linux's cap); after that an ACK goes out for every second
// full segment, or when the 40 ms delayed-ACK timer fires.
func TestDelayedAckAndQuickAck(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	seq := uint32(301)
	for i := 0; i < 16; i++ {
		h.in("<SEQ=" + itoa(seq) + "><ACK=101><CTL=ACK><LEN=1000>")
		seq += 1000
		h.out("<SEQ=101><ACK=" + itoa(seq) + "><CTL=ACK>")
	}
	// Quick-ACK mode is over: one full segment waits for the timer.
	h.advance(10 * time.Millisecond)
	h.in("<SEQ=" + itoa(seq) + "><ACK=101><CTL=ACK><LEN=1000>")
	seq += 1000
	h.none()
	h.advance(100 * time.Millisecond)
	h.out("@50ms <SEQ=101><ACK=" + itoa(seq) + "><CTL=ACK>")
	if h.c.cnt.DelayedACKs != 1 {
		t.Fatal("DelayedACKs not counted")
	}
	// Two full segments: the second is acknowledged at once.
	h.in("<SEQ=" + itoa(seq) + "><ACK=101><CTL=ACK><LEN=1000>")
	h.none()
	h.in("<SEQ=" + itoa(seq+1000) + "><ACK=101><CTL=ACK><LEN=1000>")
	seq += 2000
	h.out("@110ms <SEQ=101><ACK=" + itoa(seq) + "><CTL=ACK>")
	h.readAll(301, int(seq-301))
	if h.pool.InUse() != 0 {
		t.Fatalf("%d buffers still held after Read", h.pool.InUse())
	}
}

// Out-of-order data is acknowledged at once with a SACK block (RFC 2018,
// RFC 5681 §4.2); the segment filling the hole is acknowledged at once and
// everything is delivered in order, zero copy until Read.
func TestOutOfOrderSACK(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("<MSS=1460><SACKOK>")
	h.in("<SEQ=1301><ACK=101><CTL=ACK><LEN=1000>")
	h.out("<SEQ=101><ACK=301><CTL=ACK><SACK=1301-2301>")
	h.in("<SEQ=3301><ACK=101><CTL=ACK><LEN=500>")
	h.out("<SEQ=101><ACK=301><CTL=ACK><SACK=3301-3801,1301-2301>")
	if h.c.Readable() {
		t.Fatal("readable with a hole at RCV.NXT")
	}
	h.in("<SEQ=301><ACK=101><CTL=ACK><LEN=1000>")
	h.out("<SEQ=101><ACK=2301><CTL=ACK><SACK=3301-3801>")
	// A duplicate of delivered data: D-SACK block first (RFC 2883).
	h.in("<SEQ=301><ACK=101><CTL=ACK><LEN=1000>")
	h.out("<SEQ=101><ACK=2301><CTL=ACK><SACK=301-1301,3301-3801>")
	h.in("<SEQ=2301><ACK=101><CTL=ACK><LEN=1000>")
	h.out("<SEQ=101><ACK=3801><CTL=ACK>")
	h.readAll(301, 3500)
	if h.pool.InUse() != 0 {
		t.Fatalf("%d buffers leaked", h.pool.InUse())
	}
}

// Receiver SWS avoidance and window updates: a reader that empties a
// closed window triggers a window update; the right edge never moves left.
func TestZeroWindowAndUpdate(t *testing.T) {
	cfg := testConfig()
	cfg.RcvBuf = 8192 // half of it is window
	cfg.MSS = 1024
	h := newHarness(t, cfg)
	h.dial()
	h.out("<SEQ=100><CTL=SYN><WND=4096>")
	h.in("<SEQ=300><ACK=101><CTL=SYN,ACK><MSS=1024>")
	h.out("<SEQ=101><ACK=301><CTL=ACK><WND=4096>")
	for i := uint32(0); i < 4; i++ {
		h.in("<SEQ=" + itoa(301+1024*i) + "><ACK=101><CTL=ACK><LEN=1024>")
	}
	// Quick-ACK mode covers rcv_wnd/(2*rcv_mss) = 2 segments; the fourth
	// is the second full segment unacknowledged. The right edge stays at
	// 4397 in every ACK.
	h.out("<SEQ=101><ACK=1325><CTL=ACK><WND=3072>")
	h.out("<SEQ=101><ACK=2349><CTL=ACK><WND=2048>")
	h.out("<SEQ=101><ACK=4397><CTL=ACK><WND=0>")
	h.none()
	// Zero window: a further segment is not acceptable.
	h.in("<SEQ=4397><ACK=101><CTL=ACK><LEN=100>")
	h.out("<SEQ=101><ACK=4397><CTL=ACK><WND=0>")
	// Reading 1000 bytes is less than half the buffer: no update yet
	// (receiver SWS avoidance)...
	buf := make([]byte, 1000)
	if n, _ := h.c.Read(buf, h.now, h.rec); n != 1000 {
		t.Fatal(n)
	}
	h.none()
	// ...reading the rest opens the window and announces it.
	h.readAll(1301, 4096-1000)
	h.out("<SEQ=101><ACK=4397><CTL=ACK><WND=4096>")
}

// RFC 9293 §3.6 half-close: after our FIN (FIN-WAIT-2) the peer's data
// still arrives and is readable; its FIN then ends the stream with EOF.
func TestHalfCloseDataAfterFIN(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.c.CloseWrite(h.now, h.rec)
	h.out("FIN-WAIT-1 --> <SEQ=101><ACK=301><CTL=FIN,ACK>")
	h.in("FIN-WAIT-2 <-- <SEQ=301><ACK=102><CTL=ACK>")
	h.in("<SEQ=301><ACK=102><CTL=ACK><LEN=100>")
	h.out("<SEQ=102><ACK=401><CTL=ACK>")
	h.in("TIME-WAIT <-- <SEQ=401><ACK=102><CTL=FIN,ACK>")
	h.out("<SEQ=102><ACK=402><CTL=ACK>")
	h.readAll(301, 100)
	if _, err := h.c.Read(make([]byte, 10), h.now, h.rec); err != io.EOF {
		t.Fatalf("after FIN: %v", err)
	}
	if _, err := h.c.Write(h.now, []byte("x"), h.rec); !errors.Is(err, ErrWriteShutdown) {
		t.Fatalf("write after shutdown: %v", err)
	}
}

// Passive close: the peer's FIN moves us to CLOSE-WAIT; our data can still
// flow; Close sends FIN (LAST-ACK) and its ACK closes.
func TestPassiveClose(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.in("CLOSE-WAIT <-- <SEQ=301><ACK=101><CTL=FIN,ACK>")
	h.out("<SEQ=101><ACK=302><CTL=ACK>")
	h.write(10)
	h.out("<SEQ=101><ACK=302><CTL=PSH,ACK><LEN=10>")
	h.c.Close(h.now, h.rec)
	h.out("LAST-ACK --> <SEQ=111><ACK=302><CTL=FIN,ACK>")
	h.in("CLOSED <-- <SEQ=302><ACK=112><CTL=ACK>")
	h.none()
	if h.c.Err() != nil {
		t.Fatal(h.c.Err())
	}
}

// RFC 9293 §3.6 Figure 13: simultaneous close. Both FINs cross: CLOSING,
// then TIME-WAIT on the ACK of ours, then CLOSED after 2*MSL (60 s).
func TestSimultaneousCloseAndTimeWait(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.c.Close(h.now, h.rec)
	h.out("FIN-WAIT-1 --> <SEQ=101><ACK=301><CTL=FIN,ACK>")
	h.in("CLOSING <-- <SEQ=301><ACK=101><CTL=FIN,ACK>")
	h.out("<SEQ=102><ACK=302><CTL=ACK>")
	h.in("TIME-WAIT <-- <SEQ=302><ACK=102><CTL=ACK>")
	h.none()
	// A retransmitted FIN in TIME-WAIT is acknowledged and restarts 2*MSL.
	h.advance(30 * time.Second)
	h.in("TIME-WAIT <-- <SEQ=301><ACK=102><CTL=FIN,ACK>")
	h.out("<SEQ=102><ACK=302><CTL=ACK>")
	h.advance(59 * time.Second)
	if h.c.State() != TimeWait {
		t.Fatal("TIME-WAIT ended early")
	}
	h.advance(time.Second)
	if h.c.State() != Closed {
		t.Fatalf("state %v after 2*MSL", h.c.State())
	}
	h.none()
}

// RFC 6191 / RFC 9293 §3.6.1: a new SYN may reopen a TIME-WAIT connection
// when its timestamp (or, without timestamps, its sequence number) is
// newer; otherwise it is refused.
func TestTimeWaitSYNReuse(t *testing.T) {
	for _, ts := range []bool{false, true} {
		cfg := testConfig()
		cfg.DisableTimestamps = !ts
		h := newHarness(t, cfg)
		peer := "<MSS=1460>"
		tsOpt := func(v int) string { return "" }
		if ts {
			peer = "<MSS=1460><TS=1000,0>"
			tsOpt = func(v int) string { return "<TS=" + itoa(uint32(v)) + ",0>" }
		}
		h.dial()
		h.out("<SEQ=100><CTL=SYN>")
		h.in("<SEQ=300><ACK=101><CTL=SYN,ACK>" + peer)
		h.out("<SEQ=101><ACK=301><CTL=ACK>")
		h.c.Close(h.now, h.rec)
		h.out("<SEQ=101><CTL=FIN,ACK>")
		h.in("<SEQ=301><ACK=102><CTL=FIN,ACK>" + tsOpt(1001))
		h.out("TIME-WAIT --> <SEQ=102><ACK=302><CTL=ACK>")
		old, _ := h.seg("<SEQ=200><CTL=SYN>" + tsOpt(900))
		if _, ok := h.c.AcceptSYNInTimeWait(h.now, old); ok {
			t.Fatalf("ts=%v: old SYN accepted", ts)
		}
		nw, _ := h.seg("<SEQ=5000><CTL=SYN>" + tsOpt(2000))
		iss, ok := h.c.AcceptSYNInTimeWait(h.now, nw)
		if !ok || h.c.State() != Closed || iss != 102+65537 {
			t.Fatalf("ts=%v: new SYN refused (ok=%v, iss %d)", ts, ok, iss)
		}
	}
}

// Small in-order segments are copied into the tail frame's spare room, so
// they do not hold a frame each.
func TestReceiveCoalesce(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	seq := uint32(301)
	for i := 0; i < 40; i++ {
		h.in("<SEQ=" + itoa(seq) + "><ACK=101><CTL=ACK><LEN=10>")
		seq += 10
	}
	if n := h.pool.InUse(); n != 1 {
		t.Fatalf("%d frames held for 400 bytes", n)
	}
	h.readAll(301, 400)
	if h.pool.InUse() != 0 {
		t.Fatal("frame not freed")
	}
}

// Interactive exchanges (Linux pingpong mode): once we reply within ato of
// receiving, the next request's ACK is delayed so the reply carries it.
func TestPingPongPiggyback(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.in("<SEQ=301><ACK=101><CTL=ACK><LEN=100>")
	h.out("<SEQ=101><ACK=401><CTL=ACK>") // quick-ACK at start
	h.advance(5 * time.Millisecond)
	h.write(50)
	h.out("<SEQ=101><ACK=401><CTL=PSH,ACK><LEN=50>")
	h.in("<SEQ=401><ACK=151><CTL=ACK><LEN=100>")
	h.none() // no pure ACK: the reply will carry it
	h.advance(5 * time.Millisecond)
	h.write(50)
	h.out("@10ms <SEQ=151><ACK=501><CTL=PSH,ACK><LEN=50>")
	// No reply this time: the delayed ACK fires and interactive mode ends.
	h.in("<SEQ=501><ACK=201><CTL=ACK><LEN=100>")
	h.advance(100 * time.Millisecond)
	h.out("@50ms <SEQ=201><ACK=601><CTL=ACK>")
	h.in("<SEQ=601><ACK=201><CTL=ACK><LEN=100>")
	h.out("<SEQ=201><ACK=701><CTL=ACK>")
}

// FIN,ACK that also acknowledges our FIN: FIN-WAIT-1 → TIME-WAIT at once.
func TestFinWait1ToTimeWait(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("")
	h.c.Close(h.now, h.rec)
	h.out("FIN-WAIT-1 --> <SEQ=101><ACK=301><CTL=FIN,ACK>")
	h.in("TIME-WAIT <-- <SEQ=301><ACK=102><CTL=FIN,ACK>")
	h.out("<SEQ=102><ACK=302><CTL=ACK>")
	// RST in TIME-WAIT ends it (Linux without RFC 1337 protection).
	h.in("CLOSED <-- <SEQ=302><CTL=RST>")
}

// A FIN that arrives beyond a hole takes effect once the hole is filled;
// data beyond the window is cut off (and a FIN on it ignored).
func TestOutOfOrderFINAndWindowClip(t *testing.T) {
	h := newHarness(t, testConfig())
	h.established("<MSS=1460><SACKOK>")
	h.in("ESTABLISHED <-- <SEQ=401><ACK=101><CTL=FIN,ACK><LEN=100>")
	h.out("<SEQ=101><ACK=301><CTL=ACK><SACK=401-501>")
	h.in("CLOSE-WAIT <-- <SEQ=301><ACK=101><CTL=ACK><LEN=100>")
	h.out("<SEQ=101><ACK=502><CTL=ACK>")
	h.readAll(301, 200)

	h = newHarness(t, testConfig())
	h.established("")
	// The window is 65535: a segment running past it is trimmed at the
	// right edge and its FIN dropped.
	h.in("ESTABLISHED <-- <SEQ=65800><ACK=101><CTL=FIN,ACK><LEN=100>")
	h.out("<SEQ=101><ACK=301><CTL=ACK>")
	if h.c.Info().OOOQueued != 65836-65800 {
		t.Fatalf("held %d bytes beyond the hole", h.c.Info().OOOQueued)
	}
}
