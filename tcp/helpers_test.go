package tcp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/tcp/seqnum"
	"github.com/ustack/ustack/wire"
)

// sent is one segment the engine emitted, copied out of the Output call.
type sent struct {
	at      time.Duration
	tuple   Tuple
	hdr     wire.TCPHeader
	opts    wire.TCPOptions
	payload []byte
}

// recorder is an Output that keeps every segment (tests only; it
// allocates).
type recorder struct {
	now  *time.Duration
	segs []sent
}

func (r *recorder) Send(t *Tuple, h *wire.TCPHeader, o *wire.TCPOptions, p1, p2 []byte) {
	s := sent{at: *r.now, tuple: *t, hdr: *h, opts: *o}
	s.payload = append(append([]byte(nil), p1...), p2...)
	r.segs = append(r.segs, s)
}

// format renders a segment the way RFC 9293's traces write them:
// <SEQ=100><ACK=300><CTL=SYN,ACK><WND=65535><LEN=10> followed by the
// options that are present: <MSS=1460><SACKOK><TS=val,ecr><WS=8><SACK=l-r,...>.
func (s *sent) format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "<SEQ=%d>", s.hdr.Seq)
	if s.hdr.Flags&flagACK != 0 {
		fmt.Fprintf(&b, "<ACK=%d>", s.hdr.Ack)
	}
	b.WriteString("<CTL=" + ctlString(s.hdr.Flags) + ">")
	fmt.Fprintf(&b, "<WND=%d>", s.hdr.Window)
	if len(s.payload) > 0 {
		fmt.Fprintf(&b, "<LEN=%d>", len(s.payload))
	}
	o := &s.opts
	if o.HasMSS {
		fmt.Fprintf(&b, "<MSS=%d>", o.MSS)
	}
	if o.SACKPermitted {
		b.WriteString("<SACKOK>")
	}
	if o.HasTS {
		fmt.Fprintf(&b, "<TS=%d,%d>", o.TSVal, o.TSEcr)
	}
	if o.HasWScale {
		fmt.Fprintf(&b, "<WS=%d>", o.WScale)
	}
	if o.NumSACK > 0 {
		b.WriteString("<SACK=")
		for i := 0; i < o.NumSACK; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%d-%d", o.SACK[i].Left, o.SACK[i].Right)
		}
		b.WriteString(">")
	}
	return b.String()
}

func ctlString(f wire.TCPFlags) string {
	var parts []string
	for _, x := range []struct {
		f wire.TCPFlags
		n string
	}{{flagSYN, "SYN"}, {flagRST, "RST"}, {flagFIN, "FIN"}, {flagPSH, "PSH"}, {flagACK, "ACK"}} {
		if f&x.f != 0 {
			parts = append(parts, x.n)
		}
	}
	return strings.Join(parts, ",")
}

// fields splits "<K=V><K2>" into ordered key/value pairs.
func fields(s string) (keys []string, vals map[string]string, err error) {
	vals = map[string]string{}
	s = strings.TrimSpace(s)
	for s != "" {
		if s[0] != '<' {
			return nil, nil, fmt.Errorf("bad segment text at %q", s)
		}
		end := strings.IndexByte(s, '>')
		if end < 0 {
			return nil, nil, fmt.Errorf("unterminated %q", s)
		}
		kv := s[1:end]
		k, v, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
		vals[k] = v
		s = strings.TrimSpace(s[end+1:])
	}
	return keys, vals, nil
}

// harness drives one Conn on a virtual clock.
type harness struct {
	t    *testing.T
	now  time.Duration
	c    *Conn
	l    *Listener
	rec  *recorder
	pool *link.Pool
	tup  Tuple
	cfg  Config
}

var (
	addrA  = netip.MustParseAddrPort("10.0.0.1:40000")
	addrB  = netip.MustParseAddrPort("10.0.0.2:80")
	addrA2 = netip.MustParseAddrPort("10.0.0.3:40001")
)

// testConfig is the Linux profile with timestamps off, which keeps the
// traces short; tests of timestamps turn them back on.
func testConfig() Config {
	c := Linux()
	c.DisableTimestamps = true
	return c
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, cfg: cfg, tup: Tuple{Local: addrA, Remote: addrB}}
	h.rec = &recorder{now: &h.now}
	h.pool = link.MustPool(link.PoolConfig{Count: 512})
	return h
}

// dial opens the Conn with ISS 100 (RFC traces use 100 and 300).
func (h *harness) dial() {
	h.t.Helper()
	c, err := Dial(h.now, h.cfg, h.tup, 100, h.rec)
	if err != nil {
		h.t.Fatal(err)
	}
	h.c = c
}

// established runs the handshake with a peer of ISS 300 offering opts
// (default: MSS 1460, no other options) and drains the output.
func (h *harness) established(peerOpts string) {
	h.t.Helper()
	h.dial()
	h.out("SYN-SENT --> <SEQ=100><CTL=SYN>")
	if peerOpts == "" {
		peerOpts = "<MSS=1460>"
	}
	h.in("<SEQ=300><ACK=101><CTL=SYN,ACK><WND=65535>" + peerOpts)
	h.out("ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK>")
}

// seg builds a Segment (and a frame buffer holding its payload) from trace
// text. <LEN=n> adds n bytes of payload with byte i = byte(seq+i).
func (h *harness) seg(text string) (*Segment, *link.Buf) {
	h.t.Helper()
	keys, v, err := fields(text)
	if err != nil {
		h.t.Fatal(err)
	}
	s := &Segment{}
	num := func(k string) uint32 {
		n, err := strconv.ParseUint(v[k], 10, 32)
		if err != nil {
			h.t.Fatalf("%s: %v", k, err)
		}
		return uint32(n)
	}
	var buf *link.Buf
	for _, k := range keys {
		switch k {
		case "SEQ":
			s.Seq = seqnum.Value(num(k))
		case "ACK":
			s.Ack = seqnum.Value(num(k))
		case "CTL":
			for _, f := range strings.Split(v[k], ",") {
				switch f {
				case "SYN":
					s.Flags |= flagSYN
				case "ACK":
					s.Flags |= flagACK
				case "FIN":
					s.Flags |= flagFIN
				case "RST":
					s.Flags |= flagRST
				case "PSH":
					s.Flags |= flagPSH
				default:
					h.t.Fatalf("unknown flag %q", f)
				}
			}
		case "WND":
			s.Window = uint16(num(k))
		case "LEN":
			n := int(num(k))
			buf = h.pool.Get()
			if buf == nil {
				h.t.Fatal("test pool empty")
			}
			buf.Extend(40) // stand-in for the IP and TCP headers
			p := buf.Extend(n)
			for i := range p {
				p[i] = byte(uint32(s.Seq) + uint32(i))
			}
			s.Payload = buf.Bytes()[40:]
		case "MSS":
			s.Opts.HasMSS, s.Opts.MSS = true, uint16(num(k))
		case "WS":
			s.Opts.HasWScale, s.Opts.WScale = true, uint8(num(k))
		case "SACKOK":
			s.Opts.SACKPermitted = true
		case "TS":
			a, b, _ := strings.Cut(v[k], ",")
			x, _ := strconv.ParseUint(a, 10, 32)
			y, _ := strconv.ParseUint(b, 10, 32)
			s.Opts.HasTS, s.Opts.TSVal, s.Opts.TSEcr = true, uint32(x), uint32(y)
		case "SACK":
			for _, blk := range strings.Split(v[k], ",") {
				a, b, _ := strings.Cut(blk, "-")
				x, _ := strconv.ParseUint(a, 10, 32)
				y, _ := strconv.ParseUint(b, 10, 32)
				s.Opts.SACK[s.Opts.NumSACK] = wire.SACKBlock{Left: uint32(x), Right: uint32(y)}
				s.Opts.NumSACK++
			}
		default:
			h.t.Fatalf("unknown field %q", k)
		}
	}
	if _, ok := v["WND"]; !ok {
		s.Window = 65535
	}
	return s, buf
}

// in injects a segment written as trace text into the Conn (or the
// Listener when there is no Conn yet). An optional leading state, as in
// "CLOSE-WAIT <-- <SEQ=...>", is the state expected afterwards.
func (h *harness) in(text string) {
	h.t.Helper()
	state, text := splitArrow(text, "<--")
	s, buf := h.seg(text)
	if h.c == nil && h.l != nil {
		if c := h.l.Input(h.now, h.tup.Local, h.tup.Remote, s, buf, h.rec); c != nil {
			h.c = c
		}
	} else {
		h.c.Input(h.now, s, buf, h.rec)
	}
	h.checkState(state)
}

func splitArrow(text, arrow string) (state, rest string) {
	if i := strings.Index(text, arrow); i >= 0 {
		return strings.TrimSpace(text[:i]), strings.TrimSpace(text[i+len(arrow):])
	}
	return "", strings.TrimSpace(text)
}

func (h *harness) checkState(state string) {
	h.t.Helper()
	if state != "" && h.c != nil && h.c.State().String() != state {
		h.t.Fatalf("state %s, want %s", h.c.State(), state)
	}
}

// out checks the next emitted segment against trace text: every field
// given must match; fields not given are not checked, except that CTL is
// always compared when given and LEN defaults to 0. A leading
// "STATE -->" checks the Conn's state; a leading "@40ms" the emission time.
func (h *harness) out(text string) *sent {
	h.t.Helper()
	text = strings.TrimSpace(text)
	var at time.Duration = -1
	if strings.HasPrefix(text, "@") {
		sp := strings.IndexByte(text, ' ')
		d, err := time.ParseDuration(text[1:sp])
		if err != nil {
			h.t.Fatal(err)
		}
		at, text = d, strings.TrimSpace(text[sp:])
	}
	state, text := splitArrow(text, "-->")
	if len(h.rec.segs) == 0 {
		h.t.Fatalf("no segment emitted, want %s", text)
	}
	s := h.rec.segs[0]
	h.rec.segs = h.rec.segs[1:]
	got := s.format()
	keys, want, err := fields(text)
	if err != nil {
		h.t.Fatal(err)
	}
	_, have, _ := fields(got)
	if _, ok := want["LEN"]; !ok {
		keys = append(keys, "LEN")
	}
	for _, k := range keys {
		if want[k] != have[k] && want[k] != "*" {
			h.t.Fatalf("segment %s\n  want %s (%s differs)", got, text, k)
		}
	}
	// Times match to 10µs: the zero-time handshake of the
	// harness gives a 1 ns RTT sample, which shifts RTO-based times by it.
	if at >= 0 && (s.at < at || s.at > at+10*time.Microsecond) {
		h.t.Fatalf("segment %s sent at %v, want %v", got, s.at, at)
	}
	h.checkState(state)
	return &s
}

// near reports whether a is within 10µs after b.
func near(a, b time.Duration) bool { return a >= b && a <= b+10*time.Microsecond }

// none checks that nothing more was emitted.
func (h *harness) none() {
	h.t.Helper()
	if len(h.rec.segs) > 0 {
		h.t.Fatalf("unexpected segment %s", h.rec.segs[0].format())
	}
}

// advance moves the clock forward by d, firing the Conn's (and Listener's)
// timers at their exact deadlines on the way.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	end := h.now + d
	for i := 0; i < 100000; i++ {
		at, ok := time.Duration(0), false
		if h.c != nil {
			at, ok = h.c.Deadline()
		}
		if h.l != nil {
			if la, lok := h.l.Deadline(); lok && (!ok || la < at) {
				at, ok = la, true
			}
		}
		if !ok || at > end {
			break
		}
		if at > h.now {
			h.now = at
		}
		if h.c != nil {
			h.c.OnTimer(h.now, h.rec)
		}
		if h.l != nil {
			h.l.OnTimer(h.now, h.rec)
		}
	}
	h.now = end
}

// write queues data ("n bytes") through Write.
func (h *harness) write(n int) {
	h.t.Helper()
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i)
	}
	got, err := h.c.Write(h.now, p, h.rec)
	if err != nil || got != n {
		h.t.Fatalf("Write(%d) = %d, %v", n, got, err)
	}
}

func seqv(v uint32) seqnum.Value { return seqnum.Value(v) }
