package tcp

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

// gsoRecorder is a recorder that also takes super-segments, noting each
// one's size and segment size, and records the pieces a link would cut.
type gsoRecorder struct {
	recorder
	frames [][2]int // payload length, segSize
}

func (r *gsoRecorder) SendGSO(t *Tuple, h *wire.TCPHeader, o *wire.TCPOptions, p1, p2 []byte, segSize int) {
	p := append(append([]byte(nil), p1...), p2...)
	r.frames = append(r.frames, [2]int{len(p), segSize})
	for off := 0; off < len(p); off += segSize {
		ph := *h
		ph.Seq += uint32(off)
		if off+segSize < len(p) {
			ph.Flags &^= flagPSH | flagFIN
		}
		r.Send(t, &ph, o, p[off:min(off+segSize, len(p))], nil)
	}
}

// A write of 20000 bytes with the initial window of 10 segments leaves as
// one super-segment of exactly ten 1460-byte segments (the window allows
// no more), PSH nowhere since the write's end is not sent; the ACK of the
// first half opens the window and the rest goes out as one more
// super-segment whose last, short piece has PSH, as segment by segment.
func TestGSOSuperSegmentSizes(t *testing.T) {
	cfg := testConfig()
	cfg.GSOMaxSize = 65535
	h := newHarness(t, cfg)
	g := &gsoRecorder{recorder: recorder{now: &h.now}}
	h.rec = &g.recorder
	h.established("")
	h.c.Write(h.now, make([]byte, 20000), g)
	if want := [][2]int{{14600, 1460}}; !slices.Equal(g.frames, want) {
		t.Fatalf("super-segments %v, want %v", g.frames, want)
	}
	for i := 0; i < 10; i++ {
		h.out("<SEQ=" + itoa(uint32(101+i*1460)) + "><ACK=301><CTL=ACK><LEN=1460>")
	}
	h.none()
	// ACK of 5 segments: slow start opens cwnd to 15, so 10 more fit:
	// 5400 bytes remain, three full pieces and one of 1020 with PSH.
	seg, b := h.seg("<SEQ=301><ACK=" + itoa(uint32(101+5*1460)) + "><CTL=ACK><WND=65535>")
	h.c.Input(h.now, seg, b, g)
	if want := [][2]int{{14600, 1460}, {5400, 1460}}; !slices.Equal(g.frames, want) {
		t.Fatalf("super-segments %v, want %v", g.frames, want)
	}
	for i := 0; i < 3; i++ {
		h.out("<SEQ=" + itoa(uint32(101+(10+i)*1460)) + "><ACK=301><CTL=ACK><LEN=1460>")
	}
	h.out("<SEQ=" + itoa(uint32(101+13*1460)) + "><ACK=301><CTL=PSH,ACK><LEN=1020>")
	h.none()
	if c := h.c.cnt; c.TCPGSOFrames != 2 || c.TCPOrigDataSent != 14 || c.OutSegs != 2+14 {
		t.Fatalf("counters: %d super-segments, %d data segments, %d out (want 2, 14, 16)", c.TCPGSOFrames, c.TCPOrigDataSent, c.OutSegs)
	}
}

// GSOMaxSize caps a super-segment at whole segments.
func TestGSOMaxSize(t *testing.T) {
	cfg := testConfig()
	cfg.GSOMaxSize = 4000 // two segments of 1460
	cfg.NoDelay = true
	h := newHarness(t, cfg)
	g := &gsoRecorder{recorder: recorder{now: &h.now}}
	h.rec = &g.recorder
	h.established("")
	h.c.Write(h.now, make([]byte, 6*1460), g)
	if want := [][2]int{{2920, 1460}, {2920, 1460}, {2920, 1460}}; !slices.Equal(g.frames, want) {
		t.Fatalf("super-segments %v, want %v", g.frames, want)
	}
	for i := 0; i < 6; i++ {
		g.recorder.segs = g.recorder.segs[1:]
	}
	h.none()
}

// Retransmissions are single segments, also of data first sent inside a
// super-segment.
func TestGSORetransmitIsOneSegment(t *testing.T) {
	cfg := testConfig()
	cfg.GSOMaxSize = 65535
	h := newHarness(t, cfg)
	g := &gsoRecorder{recorder: recorder{now: &h.now}}
	h.rec = &g.recorder
	h.established("")
	h.c.Write(h.now, make([]byte, 5*1460), g)
	if len(g.frames) != 1 {
		t.Fatalf("super-segments %v, want one", g.frames)
	}
	h.rec.segs = nil
	h.advance(250 * time.Millisecond) // one RTO (200 ms)
	if len(g.frames) != 1 {
		t.Fatalf("retransmission went as a super-segment: %v", g.frames)
	}
	h.out("<SEQ=101><ACK=301><CTL=ACK><LEN=1460>")
	h.none()
}

// With segmentation offload, the segments on the wire (super-segments cut
// by the in-test link) are exactly those sent without it: same bytes, same
// boundaries, PSH in the same places, same options and timing. The
// per-segment engine is the reference for the offloaded one.
func TestGSOWireMatchesPerSegment(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*Config)
	}{
		{"linux", nil},
		{"nodelay-smallbuf", func(c *Config) { c.NoDelay = true; c.RcvBuf = 60000 }},
		{"no-ts-newreno", func(c *Config) { c.DisableTimestamps = true; c.CongestionControl = "newreno" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(gso int) *vwire {
				cfg := Linux()
				if tc.cfg != nil {
					tc.cfg(&cfg)
				}
				cfg.GSOMaxSize = gso
				w := &vwire{t: t, delay: 5 * time.Millisecond, pool: link.MustPool(link.PoolConfig{Count: 4096}), rng: 7, record: true}
				loopback(t, w, cfg, 1<<20)
				return w
			}
			ref, off := run(0), run(65535)
			if off.gsoFrames[0] == 0 || off.gsoFrames[1] == 0 {
				t.Fatalf("no super-segments sent: %v", off.gsoFrames)
			}
			if ref.gsoFrames[0] != 0 {
				t.Fatal("super-segments sent without GSOMaxSize")
			}
			if len(ref.trace) != len(off.trace) {
				t.Errorf("%d segments on the wire, %d without offload", len(off.trace), len(ref.trace))
			}
			for i := range min(len(ref.trace), len(off.trace)) {
				if ref.trace[i] != off.trace[i] {
					t.Fatalf("segment %d differs:\n  offload %s\n  per-seg %s", i, off.trace[i], ref.trace[i])
				}
			}
			t.Logf("%d segments; side 0: %d super-segments (%d pieces, largest %d bytes)", len(off.trace), off.gsoFrames[0], off.gsoPieces[0], off.gsoMaxLen[0])
		})
	}
}

// Bulk transfer in both directions with offload over lossy, reordering
// paths that lose pieces of super-segments independently.
func TestGSOLoopbackTransfer(t *testing.T) {
	for _, tc := range []struct {
		name string
		loss float64
		cfg  func(*Config)
	}{
		{"loss1pct", 0.01, nil},
		{"loss3pct-newreno-nots", 0.03, func(c *Config) { c.DisableTimestamps = true; c.CongestionControl = "newreno" }},
		{"reorder-dup-loss", 0.01, nil},
		{"small-gso", 0.01, func(c *Config) { c.GSOMaxSize = 3 * 1448 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Linux()
			cfg.GSOMaxSize = 65535
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			w := &vwire{t: t, delay: 5 * time.Millisecond, pool: link.MustPool(link.PoolConfig{Count: 8192}), rng: 42, loss: tc.loss}
			if tc.name == "reorder-dup-loss" {
				w.jitter, w.dup = 3*time.Millisecond, 0.01
			}
			loopback(t, w, cfg, 1<<20)
			if w.gsoFrames[0] == 0 {
				t.Fatal("no super-segments sent")
			}
			if w.gsoMaxLen[0] > cfg.GSOMaxSize {
				t.Fatalf("super-segment of %d bytes, GSOMaxSize %d", w.gsoMaxLen[0], cfg.GSOMaxSize)
			}
		})
	}
}

// One piece in the middle of a super-segment is lost on the wire: the
// receiver SACKs around it, and the sender resends exactly that one
// segment, alone, then completes the transfer.
func TestGSOLostPieceRetransmitted(t *testing.T) {
	cfg := Linux()
	cfg.GSOMaxSize = 65535
	w := &vwire{t: t, delay: 5 * time.Millisecond, pool: link.MustPool(link.PoolConfig{Count: 4096}), rng: 1, record: true}
	var lostSeq uint32
	lost, inGSO := false, 0
	w.dropPiece = func(side int, seq uint32, i, n int) bool {
		if side != 0 {
			return false
		}
		if lost && seq == lostSeq {
			inGSO++
		}
		if !lost && n >= 8 && i == 3 {
			lost, lostSeq = true, seq
			return true
		}
		return false
	}
	loopback(t, w, cfg, 256<<10)
	if !lost {
		t.Fatal("no super-segment of 8 pieces to cut")
	}
	if inGSO > 0 {
		t.Fatal("the lost segment was resent inside a super-segment")
	}
	// Side 0 sends lostSeq again exactly once, as one full segment.
	resent := 0
	for _, s := range w.trace {
		if strings.Contains(s, " 0 <SEQ="+itoa(lostSeq)+">") {
			resent++
			if !strings.Contains(s, "<LEN=1448>") {
				t.Errorf("retransmission %s is not one full segment", s)
			}
		}
	}
	if resent != 1 {
		t.Fatalf("segment %d sent %d times after its loss, want once", lostSeq, resent)
	}
	if w.lost[0] != 1 {
		t.Fatalf("%d pieces lost, want 1", w.lost[0])
	}
}

// gsoCountOut is countOut taking super-segments too (no allocation).
type gsoCountOut struct {
	countOut
	frames int
}

func (o *gsoCountOut) SendGSO(t *Tuple, h *wire.TCPHeader, opts *wire.TCPOptions, p1, p2 []byte, segSize int) {
	o.frames++
	o.countOut.Send(t, h, opts, p1, p2)
}

// Steady state send with offload: a 64 KiB write leaves as super-segments
// and its ACK frees the ring, without allocating.
func TestAllocsSendGSO(t *testing.T) {
	cfg := Linux()
	cfg.NoDelay = true
	cfg.GSOMaxSize = 65535
	cfg.InitCwnd = 100
	h, _ := establishedForAllocs(t, cfg)
	out := &gsoCountOut{}
	c := h.c
	p := make([]byte, 32<<10)
	var ack Segment
	ts := uint32(10)
	run := func() {
		h.now += 1000
		before := out.frames
		if n, err := c.Write(h.now, p, out); n != len(p) || err != nil {
			t.Fatal(n, err)
		}
		if out.frames != before+1 || out.plen != len(p) {
			t.Fatalf("write sent %d super-segments, the last of %d bytes", out.frames-before, out.plen)
		}
		ack = Segment{Seq: c.rcvNxt, Ack: c.sndNxt, Flags: flagACK, Window: 65535}
		ack.Opts.HasTS, ack.Opts.TSVal, ack.Opts.TSEcr = true, ts, c.tsNow(h.now)
		ts++
		h.now += 1000
		c.Input(h.now, &ack, nil, out)
	}
	run() // allocate the send ring
	if a := testing.AllocsPerRun(200, run); a != 0 {
		t.Fatalf("%.1f allocations per super-segment", a)
	}
}

// A run of in-order segments fed through InputRun and ended by EndRun is
// acknowledged once, as one coalesced segment; fed through Input one by
// one, the same segments draw an ACK each (quick-ACK mode at the start).
func TestInputRunAcksOnce(t *testing.T) {
	for _, run := range []bool{false, true} {
		h := newHarness(t, testConfig())
		h.established("")
		for i := 0; i < 8; i++ {
			seg, b := h.seg("<SEQ=" + itoa(uint32(301+i*1000)) + "><ACK=101><CTL=ACK><WND=65535><LEN=1000>")
			if run {
				h.c.InputRun(h.now, seg, b, h.rec)
			} else {
				h.c.Input(h.now, seg, b, h.rec)
			}
		}
		if !run {
			if len(h.rec.segs) != 8 {
				t.Fatalf("one by one: %d ACKs, want 8", len(h.rec.segs))
			}
			continue
		}
		h.none()
		h.c.EndRun(h.now, h.rec)
		h.out("<SEQ=101><ACK=8301><CTL=ACK>")
		h.none()
		if h.c.Buffered() != 8000 {
			t.Fatalf("%d bytes queued, want 8000", h.c.Buffered())
		}
	}
}
