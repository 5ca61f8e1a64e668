package sim

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/impair"
	"github.com/ustack/ustack/wire"
)

// Test frames: Ethernet + IPv4 (20 bytes) + UDP (8) + a 4-byte frame
// number + a pattern derived from the number; IPv4 and UDP checksums valid.
const (
	ethLen    = 14
	ipLen     = 20
	udpLen    = 8
	numOff    = ethLen + ipLen + udpLen
	minFrame  = numOff + 4
	testEther = 0x0800
)

var (
	testSrcIP  = [4]byte{10, 0, 0, 1}
	testDstIP  = [4]byte{10, 0, 0, 2}
	testDstMAC = [6]byte{0x02, 0, 0, 0, 0, 2}
	testSrcMAC = [6]byte{0x02, 0, 0, 0, 0, 1}
)

// buildFrame fills f (len(f) >= minFrame) as frame number num.
func buildFrame(f []byte, num uint32) {
	copy(f[0:6], testDstMAC[:])
	copy(f[6:12], testSrcMAC[:])
	binary.BigEndian.PutUint16(f[12:14], testEther)
	ip := f[ethLen : ethLen+ipLen]
	ip[0] = 0x45
	ip[1] = 0
	binary.BigEndian.PutUint16(ip[2:4], uint16(len(f)-ethLen))
	binary.BigEndian.PutUint16(ip[4:6], uint16(num))
	binary.BigEndian.PutUint16(ip[6:8], 0x4000) // DF
	ip[8] = 64
	ip[9] = 17
	binary.BigEndian.PutUint16(ip[10:12], 0)
	copy(ip[12:16], testSrcIP[:])
	copy(ip[16:20], testDstIP[:])
	binary.BigEndian.PutUint16(ip[10:12], wire.Checksum(ip))
	udp := f[ethLen+ipLen:]
	binary.BigEndian.PutUint16(udp[0:2], 40000)
	binary.BigEndian.PutUint16(udp[2:4], 9)
	binary.BigEndian.PutUint16(udp[4:6], uint16(len(udp)))
	binary.BigEndian.PutUint16(udp[6:8], 0)
	binary.BigEndian.PutUint32(f[numOff:], num)
	for i := minFrame; i < len(f); i++ {
		f[i] = byte(num*31 + uint32(i)*7)
	}
	c := wire.Fold(wire.Sum(udp, wire.PseudoHeaderSum4(testSrcIP, testDstIP, 17, uint16(len(udp)))))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(udp[6:8], c)
}

// checksumsOK verifies the IPv4 header and UDP checksums of a test frame.
func checksumsOK(f []byte) (ipOK, udpOK bool) {
	ip := f[ethLen : ethLen+ipLen]
	ipOK = wire.Checksum(ip) == 0
	udp := f[ethLen+ipLen:]
	src, dst := [4]byte(ip[12:16]), [4]byte(ip[16:20])
	udpOK = wire.Fold(wire.Sum(udp, wire.PseudoHeaderSum4(src, dst, 17, uint16(len(udp))))) == 0
	return ipOK, udpOK
}

func frameNum(f []byte) uint32 { return binary.BigEndian.Uint32(f[numOff:]) }

// sender is a Host sending n frames of size bytes on p, frame i at
// start+i*every (all at start when every is 0).
type sender struct {
	t     testing.TB
	p     *Port
	n     int
	size  int
	start time.Duration
	every time.Duration
	sent  int
	sendT []time.Duration // when each frame was sent, if non-nil
	one   [1]*link.Buf
}

func (s *sender) Step(now time.Duration) time.Duration {
	for s.sent < s.n && s.start+time.Duration(s.sent)*s.every <= now {
		b := s.p.Pool().Get()
		if b == nil {
			s.t.Errorf("sender: pool empty at frame %d", s.sent)
			s.n = s.sent
			break
		}
		b.SetLen(s.size)
		buildFrame(b.Bytes(), uint32(s.sent))
		if s.sendT != nil {
			s.sendT[s.sent] = now
		}
		s.one[0] = b
		if s.p.Send(s.one[:]) != 1 {
			s.t.Errorf("sender: Send refused frame %d", s.sent)
			b.Free()
		}
		s.sent++
	}
	if s.sent < s.n {
		return s.start + time.Duration(s.sent)*s.every
	}
	return math.MaxInt64
}

type arrival struct {
	num  uint32
	at   time.Duration
	good bool // bytes equal to what was sent as that number
}

// sink is a Host that receives everything on p, records it and frees it.
type sink struct {
	p     *Port
	got   []arrival
	hash  uint64 // FNV-1a over (time, bytes) of every arrival in order
	steps int
	bufs  [16]*link.Buf
	ref   []byte
	check func(f []byte)
}

func newSink(p *Port) *sink { return &sink{p: p, hash: 14695981039346656037} }

func (s *sink) mix(b []byte) {
	for _, c := range b {
		s.hash ^= uint64(c)
		s.hash *= 1099511628211
	}
}

func (s *sink) Step(now time.Duration) time.Duration {
	s.steps++
	for {
		n := s.p.Recv(s.bufs[:])
		if n == 0 {
			break
		}
		for _, b := range s.bufs[:n] {
			f := b.Bytes()
			var ts [8]byte
			binary.BigEndian.PutUint64(ts[:], uint64(now))
			s.mix(ts[:])
			s.mix(f)
			a := arrival{at: now}
			if len(f) >= minFrame {
				a.num = frameNum(f)
				if cap(s.ref) < len(f) {
					s.ref = make([]byte, len(f))
				}
				ref := s.ref[:len(f)]
				buildFrame(ref, a.num)
				a.good = string(ref) == string(f)
			}
			if s.check != nil {
				s.check(f)
			}
			s.got = append(s.got, a)
			b.Free()
		}
	}
	return math.MaxInt64
}

// flow is a one-way test: a sender on port a, a sink on port b.
type flow struct {
	w    *World
	a, b *Port
	snd  *sender
	rcv  *sink
}

func newFlow(t testing.TB, seed uint64, cfg impair.Config, n int, every time.Duration, size int, opts ...Option) *flow {
	t.Helper()
	w := New(seed, opts...)
	a, b := w.Link(cfg, impair.Config{})
	f := &flow{w: w, a: a, b: b,
		snd: &sender{t: t, p: a, n: n, size: size, every: every},
		rcv: newSink(b)}
	w.AddHost(f.snd, a)
	w.AddHost(f.rcv, b)
	return f
}

// run runs until every frame is sent and nothing is in flight, then checks
// that all buffers went back to their pools.
func (f *flow) run(t testing.TB) {
	t.Helper()
	for i := 0; i < 1000 && (f.snd.sent < f.snd.n || f.w.Pending() > 0); i++ {
		f.w.RunFor(time.Second)
	}
	if f.snd.sent < f.snd.n || f.w.Pending() > 0 {
		t.Fatalf("flow did not finish: sent %d/%d, %d events pending", f.snd.sent, f.snd.n, f.w.Pending())
	}
	checkPools(t, f.a, f.b)
}

func checkPools(t testing.TB, ports ...*Port) {
	t.Helper()
	for _, p := range ports {
		if n := p.Pool().InUse(); n != 0 {
			t.Errorf("port %d/%d pool: %d buffers still in use", p.LinkIndex(), p.Side(), n)
		}
	}
}

// within checks that count is within k standard deviations of a binomial
// with n trials and probability p.
func within(t testing.TB, what string, count, n int, p, k float64) {
	t.Helper()
	mean := float64(n) * p
	sd := math.Sqrt(float64(n) * p * (1 - p))
	if math.Abs(float64(count)-mean) > k*sd {
		t.Errorf("%s: %d of %d, want %.0f ± %.0f (p=%v, %v sd)", what, count, n, mean, k*sd, p, k)
	} else {
		t.Logf("%s: %d of %d (expected %.0f, sd %.1f)", what, count, n, mean, sd)
	}
}
