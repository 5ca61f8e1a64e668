package sim

import (
	"fmt"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/impair"
)

// DefaultMTU is a Port's MTU unless WithMTU says otherwise.
const DefaultMTU = 1500

// DefaultPoolCount is how many buffers each Port's own pool holds unless
// WithPoolConfig says otherwise (the buffer size is link's default).
const DefaultPoolCount = 1024

// maxHeader is the Ethernet header with one 802.1Q tag: a frame may be at
// most MTU+maxHeader bytes.
const maxHeader = 18

// LinkOption configures World.Link.
type LinkOption func(*linkOpts)

type linkOpts struct {
	mtu          int
	macA, macB   [6]byte
	macs         bool
	poolA, poolB *link.Pool
	poolCfg      link.PoolConfig
}

// WithMTU sets both ports' MTU (the largest Ethernet payload; default 1500).
func WithMTU(mtu int) LinkOption { return func(o *linkOpts) { o.mtu = mtu } }

// WithMACs sets the ports' Ethernet addresses. By default port a of link n
// is 02:00:nn:nn:nn:01 and port b 02:00:nn:nn:nn:02.
func WithMACs(a, b [6]byte) LinkOption {
	return func(o *linkOpts) { o.macA, o.macB, o.macs = a, b, true }
}

// WithPools gives the ports existing pools instead of new ones (nil keeps
// the default for that port).
func WithPools(a, b *link.Pool) LinkOption {
	return func(o *linkOpts) { o.poolA, o.poolB = a, b }
}

// WithPoolConfig sizes the pools made for the ports (zero fields take
// link's defaults; Count defaults to DefaultPoolCount).
func WithPoolConfig(c link.PoolConfig) LinkOption { return func(o *linkOpts) { o.poolCfg = c } }

// Link joins two new ports by an impaired path each way: frames sent on a
// go through a model of ab and arrive at b; frames sent on b go through ba.
// It panics when a configuration is invalid (use TryLink to get an error).
func (w *World) Link(ab, ba impair.Config, opts ...LinkOption) (a, b *Port) {
	a, b, err := w.TryLink(ab, ba, opts...)
	if err != nil {
		panic(err)
	}
	return a, b
}

// TryLink is Link returning an error instead of panicking.
func (w *World) TryLink(ab, ba impair.Config, opts ...LinkOption) (a, b *Port, err error) {
	o := linkOpts{mtu: DefaultMTU}
	for _, f := range opts {
		f(&o)
	}
	if o.mtu < 68 || o.mtu > 65535 {
		return nil, nil, fmt.Errorf("sim: MTU %d out of range [68, 65535]", o.mtu)
	}
	n := w.links
	if !o.macs {
		o.macA = [6]byte{0x02, 0, byte(n >> 16), byte(n >> 8), byte(n), 1}
		o.macB = [6]byte{0x02, 0, byte(n >> 16), byte(n >> 8), byte(n), 2}
	}
	if o.poolCfg.Count == 0 {
		o.poolCfg.Count = DefaultPoolCount
	}
	ab.Seed = impair.MixSeed(impair.MixSeed(w.seed, ab.Seed), uint64(n)*2)
	ba.Seed = impair.MixSeed(impair.MixSeed(w.seed, ba.Seed), uint64(n)*2+1)
	mab, err := impair.NewModel(ab)
	if err != nil {
		return nil, nil, fmt.Errorf("sim: link %d a→b: %w", n, err)
	}
	mba, err := impair.NewModel(ba)
	if err != nil {
		return nil, nil, fmt.Errorf("sim: link %d b→a: %w", n, err)
	}
	if o.poolA == nil {
		if o.poolA, err = link.NewPool(o.poolCfg); err != nil {
			return nil, nil, fmt.Errorf("sim: link %d: %w", n, err)
		}
	}
	if o.poolB == nil {
		if o.poolB, err = link.NewPool(o.poolCfg); err != nil {
			return nil, nil, fmt.Errorf("sim: link %d: %w", n, err)
		}
	}
	a = &Port{w: w, link: n, side: 0, model: mab, pool: o.poolA, mtu: o.mtu, mac: o.macA}
	b = &Port{w: w, link: n, side: 1, model: mba, pool: o.poolB, mtu: o.mtu, mac: o.macB}
	a.peer, b.peer = b, a
	w.links++
	w.ports = append(w.ports, a, b)
	return a, b, nil
}

// Port is one end of a simulated link; it implements link.Link. Like the
// World, it must be used from the simulation's goroutine only.
type Port struct {
	w     *World
	peer  *Port
	model *impair.Model // for frames this port sends
	link  int
	side  int
	pool  *link.Pool
	mtu   int
	mac   [6]byte
	host  *hostState

	head, tail *link.Buf // receivable frames, linked through Buf.Next
	queued     int
	closed     bool
	down       bool // SetDown: frames sent are lost (a blackout)
	st         link.Stats
}

// SetDown cuts (true) or restores (false) the direction of the link from
// this port to its peer: while down, every frame this port sends is lost
// before the impairment model sees it, counted in Stats().TxDropped and
// traced as dropped with impair.DropLoss. Frames already in flight still
// arrive. Use it on both ports for a blackout of both directions.
func (p *Port) SetDown(down bool) { p.down = down }

var _ link.Link = (*Port)(nil)

// Recv moves up to len(bufs) frames whose arrival time has come into bufs.
func (p *Port) Recv(bufs []*link.Buf) int {
	n := 0
	for n < len(bufs) && p.head != nil {
		b := p.head
		p.head = b.Next
		b.Next = nil
		bufs[n] = b
		n++
		p.st.RxFrames++
		p.st.RxBytes += uint64(b.Len())
	}
	if p.head == nil {
		p.tail = nil
	}
	p.queued -= n
	return n
}

// Send offers every frame to the impairment model of this port's direction
// at the current virtual time and always takes them all (0 once closed):
// frames the model drops, and frames longer than MTU+18 bytes, are counted
// in TxDropped/TxErrors and freed.
func (p *Port) Send(bufs []*link.Buf) int {
	if p.closed {
		return 0
	}
	w := p.w
	for _, b := range bufs {
		n := b.Len()
		p.st.TxFrames++
		p.st.TxBytes += uint64(n)
		if w.trace != nil {
			w.trace(TraceEvent{Time: w.now, Kind: TraceSent, Port: p, Len: n, Data: b.Bytes()})
		}
		if n > p.mtu+maxHeader {
			p.st.TxErrors++
			if w.trace != nil {
				w.trace(TraceEvent{Time: w.now, Kind: TraceDropped, Port: p, Len: n, Data: b.Bytes()})
			}
			b.Free()
			continue
		}
		if p.down {
			p.st.TxDropped++
			if w.trace != nil {
				w.trace(TraceEvent{Time: w.now, Kind: TraceDropped, Port: p, Len: n, Drop: impair.DropLoss})
			}
			b.Free()
			continue
		}
		out, drop := p.model.Offer(w.now, b, w.scratch[:0])
		if drop != impair.DropNone {
			p.st.TxDropped++
			if w.trace != nil {
				w.trace(TraceEvent{Time: w.now, Kind: TraceDropped, Port: p, Len: n, Drop: drop})
			}
		}
		for i := range out {
			w.q.push(event{at: out[i].At, kind: evArrive, port: p.peer, buf: out[i].Buf})
			out[i] = impair.Delivery{}
		}
	}
	return len(bufs)
}

// arrive makes b receivable (at the current instant) and wakes the host.
func (p *Port) arrive(b *link.Buf) {
	w := p.w
	if p.closed {
		p.st.RxDropped++
		if w.trace != nil {
			w.trace(TraceEvent{Time: w.now, Kind: TraceDropped, Port: p, Len: b.Len(), Data: b.Bytes()})
		}
		b.Free()
		return
	}
	b.Next = nil
	if p.tail == nil {
		p.head = b
	} else {
		p.tail.Next = b
	}
	p.tail = b
	p.queued++
	if w.trace != nil {
		w.trace(TraceEvent{Time: w.now, Kind: TraceDelivered, Port: p, Len: b.Len(), Data: b.Bytes()})
	}
	if p.host != nil {
		w.markDirty(p.host)
	}
}

// MTU is the largest Ethernet payload the port carries.
func (p *Port) MTU() int { return p.mtu }

// HardwareAddr is the port's Ethernet address.
func (p *Port) HardwareAddr() [6]byte { return p.mac }

// Pool is the port's own buffer pool, for frames it sends.
func (p *Port) Pool() *link.Pool { return p.pool }

// Fd is -1: a simulated port has no file descriptor.
func (p *Port) Fd() int { return -1 }

// Stats returns the port's link counters.
func (p *Port) Stats() link.Stats { return p.st }

// Impair returns the counters of the impairment model for frames this port
// sends.
func (p *Port) Impair() impair.Stats { return p.model.Stats() }

// Peer is the port at the other end of the link.
func (p *Port) Peer() *Port { return p.peer }

// LinkIndex is the number of the port's link in its World (0 for the first).
func (p *Port) LinkIndex() int { return p.link }

// Side is 0 for the first port World.Link returned, 1 for the second.
func (p *Port) Side() int { return p.side }

// Queued is how many frames wait to be received.
func (p *Port) Queued() int { return p.queued }

// Close drops the waiting frames and makes Recv and Send return 0; frames
// still in flight to the port are dropped when they arrive.
func (p *Port) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	for p.head != nil {
		b := p.head
		p.head = b.Next
		b.Next = nil
		b.Free()
	}
	p.tail = nil
	p.queued = 0
	return nil
}
