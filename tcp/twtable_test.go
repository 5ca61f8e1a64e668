package tcp

import (
	"net/netip"
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// twPair is two identical connections driven into TIME-WAIT by the same
// trace: conn keeps its Conn, rec is moved into a TimeWaitTable. Every
// segment then goes to both, and both must answer alike, byte for byte,
// and count alike.
type twPair struct {
	t         *testing.T
	conn, rec *harness
	tab       *TimeWaitTable
}

// newTWPair builds the pair with the peer's SYN,ACK options peerOpts; our
// side closes first, so TIME-WAIT is ours. Timestamps follow ts.
func newTWPair(t *testing.T, ts bool, peerOpts string) *twPair {
	t.Helper()
	p := &twPair{t: t}
	for _, hp := range []**harness{&p.conn, &p.rec} {
		cfg := Linux()
		cfg.DisableTimestamps = !ts
		cfg.Counters = &Counters{}
		cfg.ChallengeACKLimiter = NewRateLimiter(2, time.Second)
		h := newHarness(t, cfg)
		h.dial()
		h.out("<SEQ=100><CTL=SYN>")
		h.in("<SEQ=300><ACK=101><CTL=SYN,ACK>" + peerOpts)
		h.out("ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK>")
		h.in("<SEQ=301><ACK=101><CTL=ACK><LEN=100>" + tsOf(ts, 1001, 1))
		h.out("<SEQ=101><ACK=401><CTL=ACK>")
		h.readAll(301, 100)
		h.advance(time.Second)
		h.rec.segs = nil // a window update, if the read opened the window enough
		h.c.Close(h.now, h.rec)
		h.out("FIN-WAIT-1 --> <SEQ=101><ACK=401><CTL=FIN,ACK>")
		h.in("<SEQ=401><ACK=102><CTL=FIN,ACK>" + tsOf(ts, 2001, 1001))
		h.out("TIME-WAIT --> <SEQ=102><ACK=402><CTL=ACK>")
		*hp = h
	}
	tab, err := NewTimeWaitTable(p.rec.cfg, [4]uint64{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	p.tab = tab
	c := p.rec.c
	if !tab.Add(c) || c.State() != Closed || tab.Len() != 1 {
		t.Fatalf("Add: state %v, %d records", c.State(), tab.Len())
	}
	if tab.Add(c) {
		t.Fatal("a CLOSED connection was added")
	}
	p.rec.c = nil
	return p
}

func tsOf(on bool, val, ecr uint32) string {
	if !on {
		return ""
	}
	return "<TS=" + itoa(val) + "," + itoa(ecr) + ">"
}

// ref is the record's reference, or fails.
func (p *twPair) ref() TimeWaitRef {
	p.t.Helper()
	r, ok := p.tab.Lookup(p.rec.tup)
	if !ok {
		p.t.Fatal("record not found")
	}
	return r
}

// in feeds one segment to both and compares what they sent and counted.
func (p *twPair) in(text string) {
	p.t.Helper()
	p.conn.in(text)
	s, buf := p.rec.seg(text)
	p.tab.Input(p.rec.now, p.ref(), s, buf, p.rec.rec)
	p.same(text)
}

// same compares the segments both sent since the last call, the counters
// and the liveness of the connection.
func (p *twPair) same(what string) {
	p.t.Helper()
	a, b := p.conn.rec.segs, p.rec.rec.segs
	p.conn.rec.segs, p.rec.rec.segs = nil, nil
	if len(a) != len(b) {
		p.t.Fatalf("after %s: Conn sent %d segments, record %d", what, len(a), len(b))
	}
	for i := range a {
		if fa, fb := a[i].format(), b[i].format(); fa != fb || a[i].tuple != b[i].tuple || a[i].at != b[i].at {
			p.t.Fatalf("after %s: Conn sent %s to %v, record %s to %v", what, fa, a[i].tuple, fb, b[i].tuple)
		}
	}
	if ca, cb := *p.conn.cfg.Counters, *p.rec.cfg.Counters; ca != cb {
		p.t.Fatalf("after %s: counters differ\nConn   %+v\nrecord %+v", what, ca, cb)
	}
	_, found := p.tab.Lookup(p.rec.tup)
	if alive := p.conn.c.State() == TimeWait; alive != found {
		p.t.Fatalf("after %s: Conn %v, record found %v", what, p.conn.c.State(), found)
	}
	if found {
		d, _ := p.conn.c.Deadline()
		if got := p.tab.Info(p.ref()).Deadline; got != d {
			p.t.Fatalf("after %s: deadline %v on the record, %v on the Conn", what, got, d)
		}
	}
}

// advance moves both clocks, firing the Conn's timers and expiring the
// table.
func (p *twPair) advance(d time.Duration) {
	p.t.Helper()
	p.conn.advance(d)
	p.rec.now += d
	p.tab.Expire(p.rec.now)
	p.same("advance " + d.String())
}

// acceptSYN offers a SYN for the tuple to both.
func (p *twPair) acceptSYN(text string) bool {
	p.t.Helper()
	sa, _ := p.conn.seg(text)
	sb, _ := p.rec.seg(text)
	issA, okA := p.conn.c.AcceptSYNInTimeWait(p.conn.now, sa)
	issB, okB := p.tab.AcceptSYN(p.rec.now, p.ref(), sb)
	if okA != okB || issA != issB {
		p.t.Fatalf("SYN %s: Conn (%v, %d), record (%v, %d)", text, okA, issA, okB, issB)
	}
	p.same("SYN " + text)
	return okA
}

// A TIME-WAIT record answers every kind of segment as the Conn it came
// from: retransmitted FINs (ACKed, 2*MSL restarted), old duplicates (ACK
// with a D-SACK block), PAWS failures and bare out-of-window ACKs (ACK,
// rate-limited), an in-window SYN or inexact RST (challenge ACK, within
// the shared budget), an ACK of data never sent, an exact RST (the end),
// and expiry after 2*MSL — with timestamps and without.
func TestTimeWaitRecordAnswersAsConn(t *testing.T) {
	for _, ts := range []bool{true, false} {
		peer := "<MSS=1460><SACKOK><WS=7>" + tsOf(ts, 1000, 1)
		p := newTWPair(t, ts, peer)
		p.advance(20 * time.Second)
		p.in("<SEQ=401><ACK=102><CTL=FIN,ACK>" + tsOf(ts, 2002, 1001)) // retransmitted FIN
		p.in("<SEQ=301><ACK=102><CTL=ACK><LEN=100>" + tsOf(ts, 2003, 1001))
		p.in("<SEQ=402><ACK=102><CTL=ACK>" + tsOf(ts, 500, 1001)) // PAWS (with timestamps)
		p.in("<SEQ=9000><ACK=102><CTL=ACK>" + tsOf(ts, 2004, 1001))
		p.in("<SEQ=9001><ACK=102><CTL=ACK>" + tsOf(ts, 2004, 1001)) // within OOWACKInterval
		p.advance(time.Second)
		p.in("<SEQ=402><ACK=102><CTL=SYN>" + tsOf(ts, 2005, 1001))
		p.in("<SEQ=403><CTL=RST>")
		p.in("<SEQ=403><CTL=RST>")
		p.in("<SEQ=403><CTL=RST>") // past the challenge budget
		p.in("<SEQ=90000><CTL=RST>")
		p.in("<SEQ=402><ACK=5000><CTL=ACK>" + tsOf(ts, 2006, 1001)) // ACK of data never sent
		p.in("<SEQ=402><ACK=102><CTL=ACK>" + tsOf(ts, 2007, 1001))
		p.in("<SEQ=402><ACK=102><CTL=ACK><LEN=10>" + tsOf(ts, 2008, 1001))
		// The FIN at 20 s restarted 2*MSL: nothing ends at 60 s.
		p.advance(50 * time.Second)
		if p.tab.Len() != 1 {
			t.Fatalf("ts=%v: the record ended at its first deadline", ts)
		}
		p.in("<SEQ=401><ACK=102><CTL=FIN,ACK>" + tsOf(ts, 2009, 1001))
		p.advance(60*time.Second - time.Millisecond)
		p.advance(time.Millisecond) // 2*MSL after the last FIN: both end
		if p.tab.Len() != 0 || p.conn.cfg.Counters.TW != 1 {
			t.Fatalf("ts=%v: %d records left, TW %d", ts, p.tab.Len(), p.conn.cfg.Counters.TW)
		}

		p = newTWPair(t, ts, peer)
		p.in("<SEQ=402><CTL=RST>") // exact: TIME-WAIT ends (no RFC 1337)
		if p.tab.Len() != 0 {
			t.Fatalf("ts=%v: the RST left the record", ts)
		}
		for _, pool := range []*harness{p.conn, p.rec} {
			if n := pool.pool.InUse(); n != 0 {
				t.Fatalf("ts=%v: %d frame buffers held", ts, n)
			}
		}
	}
}

// A newer SYN (timestamp, or sequence number without timestamps) reopens
// the tuple with the same ISS from a record as from the Conn; an older one
// is refused and the record stays.
func TestTimeWaitRecordAcceptsNewerSYN(t *testing.T) {
	for _, ts := range []bool{true, false} {
		p := newTWPair(t, ts, "<MSS=1460><SACKOK>"+tsOf(ts, 1000, 1))
		old := "<SEQ=200><CTL=SYN>" + tsOf(ts, 1500, 0)
		if p.acceptSYN(old) {
			t.Fatalf("ts=%v: old SYN accepted", ts)
		}
		if p.acceptSYN("<SEQ=402><ACK=7><CTL=SYN,ACK>" + tsOf(ts, 9000, 0)) {
			t.Fatalf("ts=%v: SYN,ACK accepted", ts)
		}
		if !p.acceptSYN("<SEQ=5000><CTL=SYN>" + tsOf(ts, 3000, 0)) {
			t.Fatalf("ts=%v: new SYN refused", ts)
		}
		if p.tab.Len() != 0 || p.conn.cfg.Counters.TCPTimeWaitReuse != 1 {
			t.Fatalf("ts=%v: %d records, reuse %d", ts, p.tab.Len(), p.conn.cfg.Counters.TCPTimeWaitReuse)
		}
	}
}

// Records come and go in any order: the index finds every live one and
// none that is gone, the deadline order expires them in time, and freed
// slots are reused.
func TestTimeWaitTableChurn(t *testing.T) {
	cfg := Linux()
	cfg.Counters = &Counters{}
	tab, err := NewTimeWaitTable(cfg, [4]uint64{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, cfg)
	tuple := func(i int) Tuple {
		a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		return Tuple{Local: netip.AddrPortFrom(netip.MustParseAddr("10.1.0.1"), 80), Remote: netip.AddrPortFrom(a, uint16(1000+i%7))}
	}
	live := map[int]time.Duration{}
	var now time.Duration
	for round := 0; round < 3000; round++ {
		i := round * 7919 % 1500
		if _, ok := live[i]; !ok {
			c := twConn(t, h, tuple(i), now)
			if !tab.Add(c) {
				t.Fatalf("Add %d failed", i)
			}
			live[i] = now + cfg.TimeWait
		} else if round%3 == 0 {
			ref, ok := tab.Lookup(tuple(i))
			if !ok {
				t.Fatalf("record %d lost", i)
			}
			s, _ := h.seg("<SEQ=1><CTL=RST>") // RCV.NXT of twConn
			tab.Input(now, ref, s, nil, h.rec)
			delete(live, i)
		}
		now += 37 * time.Millisecond
		tab.Expire(now)
		for j, d := range live {
			if d <= now {
				delete(live, j)
			}
		}
		if tab.Len() != len(live) {
			t.Fatalf("round %d: %d records, want %d", round, tab.Len(), len(live))
		}
	}
	for i := range 1500 {
		_, want := live[i]
		if _, got := tab.Lookup(tuple(i)); got != want {
			t.Fatalf("tuple %d: found %v, want %v", i, got, want)
		}
	}
	n := 0
	tab.Tuples(func(Tuple) { n++ })
	if n != len(live) || int(tab.slots) > 1+1500 {
		t.Fatalf("Tuples saw %d of %d; %d slots used", n, len(live), tab.slots)
	}
}

// twConn makes a Conn in TIME-WAIT on tuple tu at now (RCV.NXT 1), with
// no segment kept.
func twConn(t *testing.T, h *harness, tu Tuple, now time.Duration) *Conn {
	t.Helper()
	c, err := newConn(now, h.cfg, tu, 100)
	if err != nil {
		t.Fatal(err)
	}
	c.rcvNxt, c.rcvWup, c.rcvWnd = 1, 1, 65535
	c.enterTimeWait(now)
	return c
}

// A record is small and holds no pointer (the garbage collector skips the
// table), and a table of many of them costs about its records' size on
// the heap.
func TestTimeWaitRecordSize(t *testing.T) {
	if s := unsafe.Sizeof(twRecord{}); s > 144 {
		t.Fatalf("twRecord is %d bytes", s)
	}
	cfg := Linux()
	tab, err := NewTimeWaitTable(cfg, [4]uint64{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, cfg)
	const n = 20000
	conns := make([]*Conn, n)
	for i := range conns {
		a := netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)})
		conns[i] = twConn(t, h, Tuple{Local: addrB, Remote: netip.AddrPortFrom(a, 5000)}, 0)
	}
	for _, c := range conns {
		if !tab.Add(c) {
			t.Fatal("Add failed")
		}
	}
	// The table's heap is what dropping it gives back.
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	if tab.Len() != n {
		t.Fatalf("%d records", tab.Len())
	}
	tab = nil
	runtime.GC()
	runtime.ReadMemStats(&m1)
	per := float64(int64(m0.HeapAlloc)-int64(m1.HeapAlloc)) / n
	t.Logf("%.0f bytes per record (twRecord %d)", per, unsafe.Sizeof(twRecord{}))
	if per > 200 {
		t.Fatalf("%.0f bytes of heap per record", per)
	}
	runtime.KeepAlive(conns)
}
