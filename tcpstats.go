package ustack

import (
	"context"
	"time"

	"github.com/ustack/ustack/shard"
	"github.com/ustack/ustack/tcp"
)

// TCPStats is a snapshot of the stack's TCP state, read on the shard.
type TCPStats struct {
	Conns     int // connections in the 4-tuple table, TIME-WAIT included
	TimeWait  int // of those, in TIME-WAIT
	Listeners int // listening ports

	// Counters are the engine's counters, named after Linux's Tcp and
	// TcpExt MIBs (nstat names).
	Counters tcp.Counters

	InCsumErrors uint64 // segments dropped for a bad checksum
	InHdrErrors  uint64 // segments dropped for a malformed header or options
	OutNoBuffers uint64 // segments lost for want of a transmit buffer
	TimeWaitDrop uint64 // closing connections forgotten: TIME-WAIT table full
	// GROSegs counts received segments that joined a GRO run: processed
	// after another of their connection in the same burst and
	// acknowledged with it (see Config.DisableGRO).
	GROSegs uint64
	// GSOMaxSize is the largest TCP payload sent as one super-segment
	// (0: no segmentation offload; see Config.DisableGSO).
	GSOMaxSize int

	// Handoffs counts frames that arrived on another shard's link queue
	// and were handed to the shard owning their connection (Config.Queues);
	// HandoffDrops those dropped because the owner's ring was full.
	Handoffs, HandoffDrops uint64
}

// TCPStats returns a snapshot of the TCP table and counters, summed over
// the shards (Listeners and GSOMaxSize are shard 0's).
func (s *Stack) TCPStats() (TCPStats, error) {
	var sum TCPStats
	for i, sh := range s.shards() {
		st, err := sh.shardTCPStats()
		if err != nil {
			return sum, err
		}
		if i == 0 {
			sum = st
			continue
		}
		st.Listeners, st.GSOMaxSize = 0, 0
		addCounters(&sum, &st)
	}
	return sum, nil
}

// ShardTCPStats returns TCPStats for each shard, by shard index (one
// element for a stack of one shard): how connections spread.
func (s *Stack) ShardTCPStats() ([]TCPStats, error) {
	all := s.shards()
	out := make([]TCPStats, len(all))
	for i, sh := range all {
		st, err := sh.shardTCPStats()
		if err != nil {
			return nil, err
		}
		out[i] = st
	}
	return out, nil
}

func (s *Stack) shardTCPStats() (TCPStats, error) {
	var st TCPStats
	err := s.do(context.Background(), func(time.Duration, *shard.TX) {
		l := &s.tcp
		st = TCPStats{
			Conns:        l.conns.Len() + l.tw.Len(),
			TimeWait:     l.timeWait + l.tw.Len(),
			Listeners:    len(l.listeners),
			Counters:     l.counters,
			InCsumErrors: l.stats.InCsumErrors,
			InHdrErrors:  l.stats.InHdrErrors,
			OutNoBuffers: l.stats.OutNoBuffers,
			TimeWaitDrop: l.stats.TimeWaitDrop,
			GROSegs:      l.stats.GROSegs,
			GSOMaxSize:   l.cfg.GSOMaxSize,
			Handoffs:     s.handoff.moved.Load(),
			HandoffDrops: s.handoff.drops.Load(),
		}
	})
	return st, err
}
