package ustack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/ustack/ustack/ip"
	"github.com/ustack/ustack/shard"
)

// pingID is the ICMP identifier this stack's echo requests carry.
const pingID = 0x7573 // "us"

type pingReq struct {
	hop    netip.Addr
	sentAt time.Duration
	result chan pingResult
}

type pingResult struct {
	rtt time.Duration
	err error
}

// Ping sends one ICMP echo request with size bytes of payload to dst and
// waits for the reply or for ctx to end. It returns the round-trip time
// measured on the stack's clock. A destination whose next hop never answers
// ARP fails with an error matching syscall.EHOSTUNREACH; one with no route
// with syscall.ENETUNREACH. Ping needs the shard goroutine, so a stack made
// with Config.Manual returns an error.
func (s *Stack) Ping(ctx context.Context, dst netip.Addr, size int) (time.Duration, error) {
	if s.cfg.Manual {
		return 0, errors.New("ustack: Ping needs a running stack (Config.Manual is set)")
	}
	if size < 0 || size > 65507 {
		return 0, fmt.Errorf("ustack: ping payload size %d out of range [0, 65507]", size)
	}
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i)
	}
	req := &pingReq{result: make(chan pingResult, 1)}
	var key uint32
	var sendErr error
	err := s.do(ctx, func(now time.Duration, tx *shard.TX) {
		h := &s.h
		h.seq++
		key = uint32(pingID)<<16 | uint32(h.seq)
		req.sentAt = now
		req.hop = h.nextHopOf(dst)
		if err := s.host.Ping(now, dst, pingID, h.seq, data, tx); err != nil {
			sendErr = err
			return
		}
		h.pings[key] = req
	})
	if err != nil {
		return 0, err
	}
	if sendErr != nil {
		return 0, pingError(dst, fmt.Errorf("%w: %w", ipErrno(sendErr), sendErr))
	}
	select {
	case r := <-req.result:
		return r.rtt, r.err
	case <-ctx.Done():
		// Forget the request; a late reply then finds nothing.
		_ = s.do(context.Background(), func(time.Duration, *shard.TX) { delete(s.h.pings, key) })
		return 0, pingError(dst, ctx.Err())
	}
}

// ipErrno is the errno Linux gives for an IP output error.
func ipErrno(err error) syscall.Errno {
	switch {
	case errors.Is(err, ip.ErrMsgSize):
		return syscall.EMSGSIZE
	case errors.Is(err, ip.ErrNoBuffer):
		return syscall.ENOBUFS
	default: // ip.ErrNoRoute and anything unforeseen
		return syscall.ENETUNREACH
	}
}

func pingError(dst netip.Addr, err error) error {
	return &net.OpError{Op: "ping", Net: "ip4:icmp", Addr: &net.IPAddr{IP: dst.AsSlice()}, Err: err}
}

// EchoReply matches a reply to its request (shard goroutine).
func (h *handler) EchoReply(now time.Duration, from netip.Addr, id, seq uint16, data []byte) {
	key := uint32(id)<<16 | uint32(seq)
	req, ok := h.pings[key]
	if !ok {
		return
	}
	delete(h.pings, key)
	req.result <- pingResult{rtt: now - req.sentAt}
}

// NeighFailed fails every ping waiting on the neighbour that did not answer.
func (h *handler) NeighFailed(now time.Duration, addr netip.Addr) {
	h.s.tcp.neighFailed(now, addr) // SYN-SENT connections to it: EHOSTUNREACH (dial.go)
	for key, req := range h.pings {
		if req.hop == addr {
			delete(h.pings, key)
			req.result <- pingResult{err: pingError(addr, syscall.EHOSTUNREACH)}
		}
	}
}

// failAll ends every outstanding request; called once the shard has stopped.
func (h *handler) failAll(err error) {
	for key, req := range h.pings {
		delete(h.pings, key)
		req.result <- pingResult{err: err}
	}
}
