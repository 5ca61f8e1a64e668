package ustacksys

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/internal/bench"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/mem"
	"github.com/ustack/ustack/link/spec"
	"github.com/ustack/ustack/shard"
)

// Options configure both ustack systems.
type Options struct {
	// Polling is the shards' polling mode.
	Polling shard.Mode
	// Link names the link the stacks run over: "mem" (the default), or
	// "afxdp", "afpacket" or "tap" for a real packet path through the
	// kernel between namespaces the run makes (netpath.go; needs root).
	Link string
	// Shards is how many shards each stack runs (link/mem queues, one per
	// shard); 0 or 1 is one.
	Shards int
}

// Addresses of the two stacks: the client dials from A, the server
// listens on B.
var (
	addrA = netip.MustParsePrefix("10.0.0.1/24")
	addrB = netip.MustParsePrefix("10.0.0.2/24")
)

const serverPort = 5001

// gsoFrame is bulk-gso's largest frame: a 64 KiB IP packet with Ethernet
// and VLAN headers, as a NIC with TSO/GRO takes.
const gsoFrame = 65535 + 18

// largeNote says how bulk-gso runs on ustack.
const largeNote = "link/mem with GSO (MTU 1500, 64 KiB super-segments cut at the MSS, passed to the peer whole); TCP segmentation offload on send, GRO runs on receive"

// LinkForms lists what Options.Link and `ustack bench --link` accept.
const LinkForms = "mem, afxdp, afpacket, tap"

// CheckLink validates a link for the ustack systems and returns its kind:
// mem, or the kind alone of a real packet path, whose devices the run
// makes (an interface name is refused: both ends must be the run's).
func CheckLink(s string) (spec.Kind, error) {
	switch k := spec.Kind(s); k {
	case "", spec.Mem:
		return spec.Mem, nil
	case spec.AFXDP, spec.AFPacket, spec.TAP:
		return k, nil
	}
	if sp, err := spec.Parse(s); err == nil {
		return "", fmt.Errorf("link %s: %w: the benchmark makes its own devices, in namespaces of its own; give the kind alone (%s)", sp, spec.ErrSyntax, LinkForms)
	}
	return "", fmt.Errorf("link %q: %w (accepted: %s)", s, spec.ErrSyntax, LinkForms)
}

// pair is two running stacks over one link: mem, or a real packet path.
type pair struct {
	a, b *ustack.Stack
	path *netPath // nil for mem
	note string
}

func newPair(o Options, w bench.Workload) (*pair, error) {
	kind, err := CheckLink(o.Link)
	if err != nil {
		return nil, err
	}
	if kind != spec.Mem {
		return newNetPair(o, w, kind)
	}
	opts := []mem.Option{}
	p := &pair{}
	if w.Kind == bench.Bulk && w.Large {
		// Buffers of 64 KiB (the pool is sized for the GSO frame):
		// fewer of them keep memory in check (a receive window's worth
		// is a handful of super-segments).
		opts = append(opts, mem.WithGSO(gsoFrame), mem.WithPool(link.PoolConfig{Count: 256}))
		p.note = largeNote
	}
	n := max(o.Shards, 1)
	var qa, qb []*mem.Link
	if n == 1 {
		la, lb, err := mem.NewPair(opts...)
		if err != nil {
			return nil, err
		}
		qa, qb = []*mem.Link{la}, []*mem.Link{lb}
	} else if qa, qb, err = mem.NewQueues(n, opts...); err != nil {
		return nil, err
	}
	la, lb := qa[0], qb[0]
	if n > 1 {
		p.note = joinNotes(p.note, fmt.Sprintf("%d shards per stack (link/mem queues steered by flow hash)", n))
	}
	cfg := func(l link.Link, a netip.Prefix) ustack.Config {
		c := ustack.Config{Link: l, Addr: a, Polling: o.Polling}
		q := qa
		if l == lb {
			q = qb
		}
		for _, x := range q[1:] {
			c.Queues = append(c.Queues, x)
		}
		// Go's package net turns Nagle off on every TCP connection; so
		// do the ustack runs, to compare like with like.
		c.TCP.NoDelay = true
		return c
	}
	if p.a, err = ustack.New(cfg(la, addrA)); err != nil {
		la.Close()
		lb.Close()
		return nil, err
	}
	if p.b, err = ustack.New(cfg(lb, addrB)); err != nil {
		p.a.Close()
		lb.Close()
		return nil, err
	}
	return p, nil
}

// newNetPair is newPair over a real packet path (netpath.go).
func newNetPair(o Options, w bench.Workload, kind spec.Kind) (*pair, error) {
	switch {
	case w.Kind == bench.Bulk && w.Large:
		return nil, fmt.Errorf("link %s: %w: large frames need link/mem (the real paths here carry MTU-sized frames)", kind, bench.ErrUnavailable)
	case o.Shards > 1:
		return nil, fmt.Errorf("link %s: %w: --shards over a real path (it would need multi-queue devices)", kind, bench.ErrUnavailable)
	}
	path, la, lb, err := newNetPath(kind, addrA.Addr(), addrB.Addr())
	if err != nil {
		return nil, err
	}
	p := &pair{path: path, note: pathNote(kind)}
	cfg := func(l link.Link, a netip.Prefix) ustack.Config {
		c := ustack.Config{Link: l, Addr: a, Polling: o.Polling}
		c.TCP.NoDelay = true // as net does (see newPair)
		return c
	}
	if p.a, err = ustack.New(cfg(la, addrA)); err != nil {
		la.Close()
		lb.Close()
		return nil, errors.Join(err, path.remove())
	}
	if p.b, err = ustack.New(cfg(lb, addrB)); err != nil {
		p.a.Close()
		lb.Close()
		return nil, errors.Join(err, path.remove())
	}
	return p, nil
}

func (p *pair) Close() error {
	err := errors.Join(p.a.Close(), p.b.Close())
	if p.path != nil {
		err = errors.Join(err, p.path.remove())
	}
	return err
}

func (p *pair) server() netip.AddrPort { return netip.AddrPortFrom(addrB.Addr(), serverPort) }

// retransNote reports loss recovery during the run: the mem link loses
// nothing, so any RTO or tail-loss probe is spurious (an ACK came late
// because a shard or the process was not scheduled), and it explains
// outliers in the figures.
func (p *pair) retransNote() string {
	var re, to, tlp uint64
	for _, s := range []*ustack.Stack{p.a, p.b} {
		st, err := s.TCPStats()
		if err != nil {
			return ""
		}
		re += st.Counters.RetransSegs
		to += st.Counters.TCPTimeouts
		tlp += st.Counters.TCPLossProbes
	}
	if re == 0 && to == 0 && tlp == 0 {
		return ""
	}
	return fmt.Sprintf("loss-recovery timers fired on a lossless link (late ACKs): %d RTO expiries, %d tail-loss probes, %d segments retransmitted, warm-up included", to, tlp, re)
}

func joinNotes(notes ...string) string {
	var out []string
	for _, n := range notes {
		if n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, "; ")
}
