package capture_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/capture"
	"github.com/ustack/ustack/link/mem"
)

var epoch = time.Unix(1700000000, 123456789)

// fakeClock returns epoch, epoch+1001ns, epoch+2002ns, ... on successive
// calls, and counts them.
type fakeClock struct{ calls int }

func (c *fakeClock) now() time.Time {
	t := epoch.Add(time.Duration(c.calls) * 1001)
	c.calls++
	return t
}

func (c *fakeClock) ns(call int) uint64 {
	return uint64(epoch.UnixNano()) + uint64(call)*1001
}

func pair(t testing.TB, opts ...mem.Option) (*mem.Link, *mem.Link) {
	t.Helper()
	opts = append([]mem.Option{mem.WithPool(link.PoolConfig{Count: 128})}, opts...)
	a, b, err := mem.NewPair(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// fill takes a Buf from l's pool and fills n bytes with a pattern from tag.
func fill(t testing.TB, l link.Link, tag byte, n int) *link.Buf {
	t.Helper()
	b := l.Pool().Get()
	if b == nil {
		t.Fatal("pool empty")
	}
	d := b.Extend(n)
	for i := range d {
		d[i] = tag + byte(i)
	}
	return b
}

func mustParse(t *testing.T, b []byte) *pcapFile {
	t.Helper()
	f, err := parsePcapng(b)
	if err != nil {
		t.Fatalf("capture does not parse: %v", err)
	}
	return f
}

func recvAll(t testing.TB, l link.Link) []*link.Buf {
	in := make([]*link.Buf, 64)
	var out []*link.Buf
	for {
		n := l.Recv(in)
		if n == 0 {
			return out
		}
		out = append(out, in[:n]...)
	}
}

func freeAll(bufs []*link.Buf) {
	for _, b := range bufs {
		b.Free()
	}
}

func TestHeader(t *testing.T) {
	a, _ := pair(t)
	var out bytes.Buffer
	c, err := capture.New(a, &out, capture.WithName("ust0"), capture.WithDescription("a test link"), capture.WithSnaplen(1600))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The header is written at New, before any frame.
	f := mustParse(t, out.Bytes())
	if f.major != 1 || f.minor != 0 || f.sectionLen != -1 || f.userApp != "ustack" {
		t.Fatalf("SHB: version %d.%d section length %d app %q", f.major, f.minor, f.sectionLen, f.userApp)
	}
	if len(f.ifaces) != 1 || len(f.packets) != 0 {
		t.Fatalf("%d interfaces, %d packets", len(f.ifaces), len(f.packets))
	}
	ifc := f.ifaces[0]
	if ifc.linkType != 1 || ifc.snaplen != 1600 || ifc.name != "ust0" || ifc.desc != "a test link" || !ifc.haveRes || ifc.tsresol != 9 {
		t.Fatalf("IDB: %+v", ifc)
	}

	// Defaults: no name, default description and snaplen.
	out.Reset()
	c2, err := capture.New(a, &out)
	if err != nil {
		t.Fatal(err)
	}
	ifc = mustParse(t, out.Bytes()).ifaces[0]
	if ifc.name != "" || ifc.desc != capture.DefaultDescription || ifc.snaplen != capture.DefaultSnaplen {
		t.Fatalf("default IDB: %+v", ifc)
	}
	c2.Flush()
}

func TestRecordsBothDirections(t *testing.T) {
	a, b := pair(t)
	var out bytes.Buffer
	clk := &fakeClock{}
	c, err := capture.New(a, &out, capture.WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	sent := []*link.Buf{fill(t, c, 0x10, 60), fill(t, c, 0x20, 61), fill(t, c, 0x30, 1514)}
	var want [][]byte
	for _, x := range sent {
		want = append(want, append([]byte(nil), x.Bytes()...))
	}
	if c.Send(sent) != 3 {
		t.Fatal("Send refused")
	}
	got := recvAll(t, b)
	if len(got) != 3 {
		t.Fatalf("peer received %d frames", len(got))
	}
	freeAll(got)
	back := []*link.Buf{fill(t, b, 0x40, 64), fill(t, b, 0x50, 99)}
	for _, x := range back {
		want = append(want, append([]byte(nil), x.Bytes()...))
	}
	b.Send(back)
	in := recvAll(t, c)
	if len(in) != 2 {
		t.Fatalf("received %d frames", len(in))
	}
	freeAll(in)
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	f := mustParse(t, out.Bytes())
	if len(f.packets) != 5 {
		t.Fatalf("%d packets recorded, want 5", len(f.packets))
	}
	for i, p := range f.packets {
		dir, call := uint32(2), 0 // outbound, first clock reading
		if i >= 3 {
			dir, call = 1, 1 // inbound, second
		}
		if !p.hasFlag || p.flags != dir {
			t.Errorf("packet %d: epb_flags %#x (present %v), want %#x", i, p.flags, p.hasFlag, dir)
		}
		if p.ts != clk.ns(call) {
			t.Errorf("packet %d: timestamp %d, want %d", i, p.ts, clk.ns(call))
		}
		if !bytes.Equal(p.data, want[i]) || int(p.origLen) != len(want[i]) || p.iface != 0 {
			t.Errorf("packet %d: %d/%d bytes recorded, do not match the frame", i, p.capLen, p.origLen)
		}
	}
	// Empty calls read no clock and record nothing.
	c.Send(nil)
	c.Recv(make([]*link.Buf, 4))
	if clk.calls != 2 {
		t.Fatalf("clock read %d times, want 2 (once per burst)", clk.calls)
	}
	if st := c.CaptureStats(); st.Frames != 5 || st.Dropped != 0 || st.WriteErrors != 0 || st.Bytes != uint64(out.Len()) {
		t.Fatalf("capture stats %+v (file %d bytes)", st, out.Len())
	}
}

func TestRefusedFramesNotRecorded(t *testing.T) {
	a, b := pair(t, mem.WithRingSize(4), mem.WithMTU(1000))
	var out bytes.Buffer
	c, err := capture.New(a, &out)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	burst := make([]*link.Buf, 6)
	for i := range burst {
		burst[i] = fill(t, c, byte(i), 100+i)
	}
	if n := c.Send(burst); n != 4 {
		t.Fatalf("Send took %d, want 4 (ring of 4)", n)
	}
	freeAll(burst[4:])
	freeAll(recvAll(t, b))
	big := fill(t, c, 9, 1019) // MTU+19: refused by mem as a TX error
	small := fill(t, c, 10, 70)
	if n := c.Send([]*link.Buf{small, big}); n != 1 {
		t.Fatalf("Send took %d, want 1", n)
	}
	big.Free()
	freeAll(recvAll(t, b))
	c.Flush()
	f := mustParse(t, out.Bytes())
	if len(f.packets) != 5 {
		t.Fatalf("%d packets recorded, want the 5 accepted", len(f.packets))
	}
	for i, p := range f.packets[:4] {
		if p.origLen != uint32(100+i) || p.data[0] != byte(i) {
			t.Fatalf("packet %d is not frame %d", i, i)
		}
	}
	if f.packets[4].origLen != 70 {
		t.Fatalf("last packet is %d bytes, want 70", f.packets[4].origLen)
	}
}

func TestSnaplenTruncatesRecordNotFrame(t *testing.T) {
	a, b := pair(t)
	var out bytes.Buffer
	c, err := capture.New(a, &out, capture.WithSnaplen(64))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	x := fill(t, c, 1, 1000)
	want := append([]byte(nil), x.Bytes()...)
	c.Send([]*link.Buf{x})
	got := recvAll(t, b)
	if len(got) != 1 || !bytes.Equal(got[0].Bytes(), want) {
		t.Fatal("frame changed by the capture")
	}
	freeAll(got)
	c.Flush()
	p := mustParse(t, out.Bytes()).packets[0]
	if p.capLen != 64 || p.origLen != 1000 || !bytes.Equal(p.data, want[:64]) {
		t.Fatalf("record: cap %d orig %d", p.capLen, p.origLen)
	}
}

// countWriter counts Write calls.
type countWriter struct {
	bytes.Buffer
	writes int
}

func (w *countWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

// TestSmallBufferFlushesMidBurst forces flushes inside Recv and Send
// bursts, with refusals in the same bursts, and checks every accepted
// frame is in the file once, in order.
func TestSmallBufferFlushesMidBurst(t *testing.T) {
	a, b := pair(t, mem.WithRingSize(32))
	w := &countWriter{}
	c, err := capture.New(a, w, capture.WithBufferSize(300), capture.WithSnaplen(100))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var want []uint32 // original lengths, in file order
	var dirs []uint32
	size := 40
	for round := 0; round < 20; round++ {
		burst := make([]*link.Buf, 10+round)
		for i := range burst {
			burst[i] = fill(t, c, byte(round), size)
			size = 40 + (size*7)%150 // 40..189: some longer than the snaplen
		}
		n := c.Send(burst)
		for i := 0; i < n; i++ {
			want = append(want, 0)
			dirs = append(dirs, 2)
		}
		// We may not read burst[:n] after Send: take the lengths from
		// the receiving side.
		got := recvAll(t, b)
		if len(got) != n {
			t.Fatalf("round %d: peer got %d of %d", round, len(got), n)
		}
		for i, x := range got {
			want[len(want)-n+i] = uint32(x.Len())
		}
		freeAll(got)
		freeAll(burst[n:])
		// And some inbound traffic.
		back := make([]*link.Buf, 5)
		for i := range back {
			back[i] = fill(t, b, 0xee, 50+10*i)
		}
		b.Send(back)
		for _, x := range recvAll(t, c) {
			want = append(want, uint32(x.Len()))
			dirs = append(dirs, 1)
			x.Free()
		}
	}
	c.Flush()
	if w.writes < 10 {
		t.Fatalf("only %d writes: the small buffer did not force flushes", w.writes)
	}
	f := mustParse(t, w.Bytes())
	if len(f.packets) != len(want) {
		t.Fatalf("%d packets recorded, want %d", len(f.packets), len(want))
	}
	for i, p := range f.packets {
		if p.origLen != want[i] || p.flags != dirs[i] || p.capLen != min(want[i], 100) {
			t.Fatalf("packet %d: orig %d cap %d dir %d, want orig %d dir %d", i, p.origLen, p.capLen, p.flags, want[i], dirs[i])
		}
	}
}

// failWriter accepts the first ok bytes' worth of writes, then fails.
type failWriter struct {
	ok     int
	short  bool
	closed bool
	bytes.Buffer
}

var errDisk = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if w.Len()+len(p) > w.ok {
		if w.short {
			return 0, nil
		}
		return 0, errDisk
	}
	return w.Buffer.Write(p)
}

func (w *failWriter) Close() error { w.closed = true; return nil }

func TestWriteErrorIsStickyAndHarmless(t *testing.T) {
	for _, short := range []bool{false, true} {
		a, b := pair(t)
		w := &failWriter{ok: 1000, short: short}
		c, err := capture.New(a, w, capture.WithBufferSize(512), capture.WithSnaplen(256))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 50; i++ {
			if c.Send([]*link.Buf{fill(t, c, byte(i), 200)}) != 1 {
				t.Fatalf("short=%v: Send %d refused after a capture error", short, i)
			}
			b.Send([]*link.Buf{fill(t, b, byte(i), 100)})
			got := recvAll(t, c)
			if len(got) != 1 {
				t.Fatalf("short=%v: Recv %d got %d frames", short, i, len(got))
			}
			freeAll(got)
			freeAll(recvAll(t, b))
		}
		wantErr := errDisk
		if short {
			wantErr = io.ErrShortWrite
		}
		if err := c.Err(); !errors.Is(err, wantErr) {
			t.Fatalf("short=%v: Err() = %v, want %v", short, err, wantErr)
		}
		if err := c.Flush(); !errors.Is(err, wantErr) {
			t.Fatalf("short=%v: Flush() = %v", short, err)
		}
		st := c.CaptureStats()
		if st.WriteErrors != 1 || st.Frames+st.Dropped != 100 || st.Dropped == 0 || st.Bytes != uint64(w.Len()) {
			t.Fatalf("short=%v: stats %+v, file %d bytes", short, st, w.Len())
		}
		if a.Stats().TxFrames != 50 || a.Stats().RxFrames != 50 {
			t.Fatalf("short=%v: data path stats %+v", short, a.Stats())
		}
		// What was written before the error is a valid file.
		if f := mustParse(t, w.Bytes()); uint64(len(f.packets)) != st.Frames {
			t.Fatalf("short=%v: %d packets in file, stats say %d", short, len(f.packets), st.Frames)
		}
		if err := c.Close(); !errors.Is(err, wantErr) {
			t.Fatalf("short=%v: Close() = %v, want the write error", short, err)
		}
		if w.closed {
			t.Fatal("writer closed without WithCloseWriter")
		}
	}
}

func TestNewErrors(t *testing.T) {
	a, _ := pair(t)
	var out bytes.Buffer
	cases := map[string]func() (*capture.Link, error){
		"nil link":     func() (*capture.Link, error) { return capture.New(nil, &out) },
		"nil writer":   func() (*capture.Link, error) { return capture.New(a, nil) },
		"snaplen -1":   func() (*capture.Link, error) { return capture.New(a, &out, capture.WithSnaplen(-1)) },
		"snaplen huge": func() (*capture.Link, error) { return capture.New(a, &out, capture.WithSnaplen(1<<20+1)) },
		"buffer -1":    func() (*capture.Link, error) { return capture.New(a, &out, capture.WithBufferSize(-1)) },
		"long name": func() (*capture.Link, error) {
			return capture.New(a, &out, capture.WithName(strings.Repeat("x", 1025)))
		},
		"long desc": func() (*capture.Link, error) {
			return capture.New(a, &out, capture.WithDescription(strings.Repeat("x", 1025)))
		},
		"failing writer": func() (*capture.Link, error) { return capture.New(a, &failWriter{}) },
	}
	for name, f := range cases {
		if c, err := f(); err == nil || c != nil {
			t.Errorf("%s: New = %v, %v; want an error", name, c, err)
		}
	}
	// A failed New leaves the link open.
	x := fill(t, a, 0, 60)
	if a.Send([]*link.Buf{x}) != 1 {
		t.Fatal("link unusable after a failed New")
	}
}

func TestClose(t *testing.T) {
	for _, closeWriter := range []bool{false, true} {
		a, b := pair(t)
		w := &failWriter{ok: 1 << 20}
		opts := []capture.Option{capture.WithBufferSize(1 << 16)}
		if closeWriter {
			opts = append(opts, capture.WithCloseWriter())
		}
		c, err := capture.New(a, w, opts...)
		if err != nil {
			t.Fatal(err)
		}
		c.Send([]*link.Buf{fill(t, c, 1, 60)})
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if w.closed != closeWriter {
			t.Fatalf("writer closed = %v with WithCloseWriter %v", w.closed, closeWriter)
		}
		if f := mustParse(t, w.Bytes()); len(f.packets) != 1 {
			t.Fatalf("Close did not flush: %d packets", len(f.packets))
		}
		if b.Pool().InUse() != 0 || a.Pool().InUse() != 0 {
			t.Fatal("inner link not closed: frames still held")
		}
		x := fill(t, c, 2, 60)
		if c.Send([]*link.Buf{x}) != 0 || b.Send([]*link.Buf{x}) != 0 {
			t.Fatal("Send works after Close")
		}
		x.Free()
		if err := c.Close(); !errors.Is(err, link.ErrClosed) {
			t.Fatalf("second Close = %v", err)
		}
		if st := c.CaptureStats(); st.Frames != 1 {
			t.Fatalf("stats after close %+v", st)
		}
	}
}

// stubLink is a link.Link that is neither a Waiter nor GSO.
type stubLink struct{ pool *link.Pool }

func (s *stubLink) Recv([]*link.Buf) int  { return 0 }
func (s *stubLink) Send([]*link.Buf) int  { return 0 }
func (s *stubLink) MTU() int              { return 1280 }
func (s *stubLink) HardwareAddr() [6]byte { return [6]byte{2, 9, 9, 9, 9, 9} }
func (s *stubLink) Pool() *link.Pool      { return s.pool }
func (s *stubLink) Fd() int               { return 7 }
func (s *stubLink) Stats() link.Stats     { return link.Stats{RxErrors: 42} }
func (s *stubLink) Close() error          { return nil }

func TestForwarding(t *testing.T) {
	a, b := pair(t, mem.WithGSO(9000), mem.WithMACs([6]byte{2, 3, 4, 5, 6, 7}, [6]byte{2, 1, 1, 1, 1, 1}))
	c, err := capture.New(a, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.MTU() != 1500 || c.HardwareAddr() != a.HardwareAddr() || c.Pool() != a.Pool() || c.Fd() != -1 || c.MaxFrame() != 9000 || c.Inner() != a {
		t.Fatal("accessors do not forward to the wrapped link")
	}
	ch := make(chan struct{}, 1)
	if !c.Arm(ch) {
		t.Fatal("Arm not forwarded to a Waiter")
	}
	b.Send([]*link.Buf{fill(t, b, 0, 60)})
	select {
	case <-ch:
	default:
		t.Fatal("no wake-up through the capture wrapper")
	}
	freeAll(recvAll(t, c))
	if c.Stats().RxFrames != 1 {
		t.Fatalf("Stats not forwarded: %+v", c.Stats())
	}

	s := &stubLink{pool: link.MustPool(link.PoolConfig{Count: 1})}
	cs, err := capture.New(s, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Arm(ch) || cs.MaxFrame() != 1298 || cs.Fd() != 7 || cs.Stats().RxErrors != 42 || cs.MTU() != 1280 {
		t.Fatal("forwarding to a plain link")
	}
}

func TestAllocsPerFrame(t *testing.T) {
	a, b := pair(t)
	c, err := capture.New(a, io.Discard, capture.WithBufferSize(4096), capture.WithClock(func() time.Time { return epoch }))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out := make([]*link.Buf, 16)
	in := make([]*link.Buf, 16)
	round := func() {
		for i := range out {
			out[i] = c.Pool().Get()
			out[i].Extend(100)
		}
		c.Send(out)
		n := b.Recv(in)
		b.Send(in[:n])
		n = c.Recv(in)
		for _, x := range in[:n] {
			x.Free()
		}
	}
	round()
	if allocs := testing.AllocsPerRun(200, round); allocs != 0 {
		t.Fatalf("capture round trip allocates %.1f times per run, want 0", allocs)
	}
	if c.CaptureStats().Frames == 0 {
		t.Fatal("nothing flushed: the test did not exercise writing")
	}
}

// TestFlushRacesDataPath: Flush and CaptureStats from another goroutine
// while the owner moves frames; run under -race.
func TestFlushRacesDataPath(t *testing.T) {
	a, b := pair(t)
	var out bytes.Buffer
	c, err := capture.New(a, &out, capture.WithBufferSize(2048))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
				c.Flush()
				c.CaptureStats()
			}
		}
	}()
	const rounds = 2000
	for i := 0; i < rounds; i++ {
		c.Send([]*link.Buf{fill(t, c, byte(i), 60+i%50)})
		freeAll(recvAll(t, b))
	}
	close(done)
	wg.Wait()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if f := mustParse(t, out.Bytes()); len(f.packets) != rounds {
		t.Fatalf("%d packets, want %d", len(f.packets), rounds)
	}
}
