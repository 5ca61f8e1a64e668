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
	// Link names the link the stacks run over (link/spec syntax); only
	// "mem" (the default) can be benchmarked so far.
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

// CheckLink validates a link spec for the ustack systems.
func CheckLink(s string) error {
	if s == "" {
		return nil
	}
	sp, err := spec.Parse(s)
	if err != nil {
		return err
	}
	if sp.Kind != spec.Mem {
		return fmt.Errorf("link %s: %w: the benchmark needs both ends of the link in this process (two stacks, or a stack and a kernel address on the far side), which only mem provides so far", sp, bench.ErrUnavailable)
	}
	return nil
}

// pair is two running stacks over one mem link.
type pair struct {
	a, b *ustack.Stack
	note string
}

func newPair(o Options, w bench.Workload) (*pair, error) {
	if err := CheckLink(o.Link); err != nil {
		return nil, err
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
	var err error
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

func (p *pair) Close() error {
	return errors.Join(p.a.Close(), p.b.Close())
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
