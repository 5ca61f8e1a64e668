package ip

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

// NeighState returns the state of addr's neighbour cache entry
// (NeighNone when there is none). A sockets layer asks it for the next hop
// (see NextHop) to tell "host unreachable" from "still resolving".
func (h *Host) NeighState(addr netip.Addr) NeighState {
	addr = addr.Unmap()
	if !addr.Is4() {
		return NeighNone
	}
	e := h.neigh.find(a4(addr))
	if e == nil {
		return NeighNone
	}
	return e.state
}

// SetNeigh installs a PERMANENT neighbour entry (like `ip neigh add ...
// nud permanent`): used without ARP, never aged, probed or changed by ARP,
// and never evicted. Packets waiting for addr are sent at once. It fails
// when addr is not on-link IPv4, mac is not unicast, or the cache is full
// of entries that cannot be evicted.
func (h *Host) SetNeigh(now time.Duration, addr netip.Addr, mac [6]byte, out Output) error {
	addr = addr.Unmap()
	if !addr.Is4() || !h.onLink(a4(addr)) || a4(addr) == h.self {
		return fmt.Errorf("%w: %v is not an on-link neighbour", ErrBadAddress, addr)
	}
	if mac == ([6]byte{}) || mac[0]&1 != 0 {
		return fmt.Errorf("%w: MAC %x is not unicast", ErrBadAddress, mac)
	}
	e := h.neigh.find(a4(addr))
	if e == nil {
		if e = h.newNeigh(now, a4(addr)); e == nil {
			h.c.NeighTableFull++
			return fmt.Errorf("%w: neighbour cache full", ErrNoBuffer)
		}
	}
	e.mac = mac
	e.state = NeighPermanent
	e.probes = 0
	e.confirmed = now
	if e.head != nil {
		h.flush(e, out)
	}
	return nil
}

// DeleteNeigh removes addr's entry (PERMANENT ones included), dropping
// any packets waiting for it.
func (h *Host) DeleteNeigh(addr netip.Addr) {
	addr = addr.Unmap()
	if !addr.Is4() {
		return
	}
	e := h.neigh.find(a4(addr))
	if e == nil {
		return
	}
	for b := e.head; b != nil; {
		next := b.Next
		b.Next = nil
		b.Free()
		h.c.NeighQueueDrops++
		h.c.OutDiscards++
		b = next
	}
	h.pendTotal -= e.npend
	h.neigh.remove(e.addr)
}

// Announce broadcasts a gratuitous ARP request for the host's address
// (RFC 5227 section 3), so neighbours update a cached MAC, for example
// after a failover.
func (h *Host) Announce(out Output) {
	h.sendARP(wire.ARPRequest, wire.BroadcastMAC(), wire.MAC{}, h.self, out)
}

// NeighMAC returns addr's link-layer address when its entry has one.
func (h *Host) NeighMAC(addr netip.Addr) ([6]byte, bool) {
	addr = addr.Unmap()
	if !addr.Is4() {
		return [6]byte{}, false
	}
	e := h.neigh.find(a4(addr))
	if e == nil || e.state == NeighIncomplete || e.state == NeighFailed {
		return [6]byte{}, false
	}
	return e.mac, true
}

// ConfirmNeigh records an upper-layer confirmation that the neighbour addr
// is reachable (RFC 4861 7.3.1: TCP saw new data acknowledged), moving a
// STALE, DELAY or PROBE entry back to REACHABLE without probing.
func (h *Host) ConfirmNeigh(now time.Duration, addr netip.Addr) {
	addr = addr.Unmap()
	if !addr.Is4() {
		return
	}
	e := h.neigh.find(a4(addr))
	if e == nil {
		return
	}
	switch e.state {
	case NeighReachable, NeighStale, NeighDelay, NeighProbe:
		e.state = NeighReachable
		e.confirmed = now
		e.probes = 0
	}
}

// xmit sends b, whose data starts with an IPv4 header, to the neighbour
// nh, resolving it first when needed. It takes ownership of b.
func (h *Host) xmit(now time.Duration, nh uint32, b *link.Buf, out Output) {
	e := h.neigh.find(nh)
	if e == nil {
		e = h.newNeigh(now, nh)
		if e == nil {
			h.c.NeighTableFull++
			h.c.OutDiscards++
			b.Free()
			return
		}
		e.state = NeighIncomplete
		e.probes = 1
		e.timer = now + h.cfg.Neigh.RetransTime
		h.arm(e.timer)
		h.sendARP(wire.ARPRequest, wire.BroadcastMAC(), wire.MAC{}, nh, out)
	}
	e.used = now
	switch e.state {
	case NeighReachable:
		if now-e.confirmed >= h.cfg.Neigh.ReachableTime {
			h.enterDelay(now, e)
		}
	case NeighStale:
		h.enterDelay(now, e)
	case NeighDelay, NeighProbe, NeighPermanent:
	case NeighFailed:
		e.state = NeighIncomplete
		e.probes = 1
		e.timer = now + h.cfg.Neigh.RetransTime
		h.arm(e.timer)
		h.sendARP(wire.ARPRequest, wire.BroadcastMAC(), wire.MAC{}, nh, out)
		h.enqueue(e, b)
		return
	case NeighIncomplete:
		h.enqueue(e, b)
		return
	}
	h.sendEth(b, e.mac, out)
}

// enterDelay: a STALE entry was used; wait DelayFirstProbe for an
// upper-layer confirmation before probing (RFC 4861 7.3.3).
func (h *Host) enterDelay(now time.Duration, e *neighEntry) {
	e.state = NeighDelay
	e.timer = now + h.cfg.Neigh.DelayFirstProbe
	h.arm(e.timer)
}

// sendEth prepends an Ethernet header for dst and sends b.
func (h *Host) sendEth(b *link.Buf, dst [6]byte, out Output) {
	hdr := b.Prepend(wire.EthernetHeaderLen)
	if hdr == nil {
		h.c.OutDiscards++
		b.Free()
		return
	}
	wire.PutEthernet(hdr, wire.MAC(dst), h.mac, wire.EtherTypeIPv4)
	h.c.EthOutFrames++
	out.Send(b)
}

// enqueue parks b on e until it resolves, dropping e's oldest packet when
// the per-entry or the total bound is reached.
func (h *Host) enqueue(e *neighEntry, b *link.Buf) {
	if e.npend >= h.cfg.Neigh.PendingLimit || (h.pendTotal >= h.cfg.Neigh.PendingTotal && e.npend > 0) {
		old := e.head
		e.head = old.Next
		if e.head == nil {
			e.tail = nil
		}
		old.Next = nil
		old.Free()
		e.npend--
		h.pendTotal--
		h.c.NeighQueueDrops++
		h.c.OutDiscards++
	}
	if h.pendTotal >= h.cfg.Neigh.PendingTotal {
		h.c.NeighQueueDrops++
		h.c.OutDiscards++
		b.Free()
		return
	}
	b.Next = nil
	if e.tail == nil {
		e.head = b
	} else {
		e.tail.Next = b
	}
	e.tail = b
	e.npend++
	h.pendTotal++
	h.c.NeighQueued++
}

// flush sends e's queued packets now that it has a MAC.
func (h *Host) flush(e *neighEntry, out Output) {
	b := e.head
	e.head, e.tail = nil, nil
	h.pendTotal -= e.npend
	e.npend = 0
	mac := e.mac
	for b != nil {
		next := b.Next
		b.Next = nil
		h.sendEth(b, mac, out)
		b = next
	}
}

// newNeigh inserts an entry for addr, evicting the least recently used
// entry that is not resolving when the table is full. nil when every entry
// is INCOMPLETE.
func (h *Host) newNeigh(now time.Duration, addr uint32) *neighEntry {
	t := &h.neigh
	if t.count >= t.limit {
		var victim *neighEntry
		for i := range t.slots {
			e := &t.slots[i]
			if !e.inUse || e.state == NeighIncomplete || e.state == NeighPermanent {
				continue
			}
			if victim == nil || evictBefore(e, victim) {
				victim = e
			}
		}
		if victim == nil {
			return nil
		}
		t.remove(victim.addr)
		h.c.NeighEvicted++
	}
	if h.gcAt == 0 {
		h.gcAt = now + h.cfg.Neigh.GCInterval
		h.arm(h.gcAt)
	}
	e := t.insert(addr)
	e.used = now
	return e
}

// evictBefore: FAILED entries go first, then the least recently used.
func evictBefore(a, b *neighEntry) bool {
	af, bf := a.state == NeighFailed, b.state == NeighFailed
	if af != bf {
		return af
	}
	return a.used < b.used
}

// fail declares e FAILED: its queued packets are dropped, each reported to
// its transport as a local ICMP host unreachable (as Linux does), and the
// NeighFailureHandler is told.
func (h *Host) fail(now time.Duration, e *neighEntry) {
	e.state = NeighFailed
	e.used = now
	h.c.NeighFailed++
	addr := e.addr
	b := e.head
	e.head, e.tail = nil, nil
	h.pendTotal -= e.npend
	e.npend = 0
	for b != nil {
		next := b.Next
		b.Next = nil
		h.c.NeighQueueDrops++
		h.c.OutDiscards++
		h.localUnreachable(now, b.Bytes())
		b.Free()
		b = next
	}
	if h.neighFail != nil {
		h.neighFail.NeighFailed(now, addrOf(addr))
	}
	// The callbacks may have sent (and so changed the table under a
	// scan in progress); make the next Tick rescan at once so no entry's
	// timer is lost.
	h.arm(now)
}

// localUnreachable reports the datagram pkt (IPv4 header first), which was
// dropped here, to its transport as ICMP host unreachable from ourselves.
func (h *Host) localUnreachable(now time.Duration, pkt []byte) {
	ip, err := wire.ParseIPv4Partial(pkt)
	if err != nil || ip.FragOffset() != 0 {
		return
	}
	eh, ok := h.transports[ip.Protocol()].(ICMPErrorHandler)
	if !ok {
		return
	}
	h.icmpEv = ICMPError{
		Type: wire.ICMPv4DestUnreach, Code: 1, From: h.addr,
		Src: ip.Src(), Dst: ip.Dst(), Proto: ip.Protocol(), L4: ip.Payload(),
	}
	eh.ICMPError(now, &h.icmpEv)
}

// neighTick runs neighbour timers and garbage collection.
func (h *Host) neighTick(now time.Duration, out Output) {
	nc := &h.cfg.Neigh
	gc := h.gcAt != 0 && now >= h.gcAt
	t := &h.neigh
	for i := 0; i < len(t.slots); i++ {
		e := &t.slots[i]
		if !e.inUse {
			continue
		}
		if e.state == NeighReachable && now-e.confirmed >= nc.ReachableTime {
			e.state = NeighStale // aged out (otherwise noticed lazily on use)
		}
		if gc && (e.state == NeighStale || e.state == NeighFailed) && now-e.used >= nc.StaleTime {
			t.remove(e.addr)
			h.c.NeighGC++
			i-- // the backward shift may have moved an entry into slot i
			continue
		}
		switch e.state {
		case NeighIncomplete:
			if now < e.timer {
				h.arm(e.timer)
				continue
			}
			if int(e.probes) >= nc.MaxProbes {
				h.fail(now, e)
				continue
			}
			e.probes++
			e.timer = now + nc.RetransTime
			h.arm(e.timer)
			h.sendARP(wire.ARPRequest, wire.BroadcastMAC(), wire.MAC{}, e.addr, out)
		case NeighDelay:
			if now < e.timer {
				h.arm(e.timer)
				continue
			}
			e.state = NeighProbe
			e.probes = 1
			e.timer = now + nc.RetransTime
			h.arm(e.timer)
			h.sendARP(wire.ARPRequest, e.mac, wire.MAC{}, e.addr, out)
		case NeighProbe:
			if now < e.timer {
				h.arm(e.timer)
				continue
			}
			if int(e.probes) >= nc.MaxProbes {
				h.fail(now, e)
				continue
			}
			e.probes++
			e.timer = now + nc.RetransTime
			h.arm(e.timer)
			h.sendARP(wire.ARPRequest, e.mac, wire.MAC{}, e.addr, out)
		}
	}
	if gc {
		h.gcAt = 0
	}
	if t.count > 0 {
		if h.gcAt == 0 {
			h.gcAt = now + nc.GCInterval
		}
		h.arm(h.gcAt)
	}
}

// sendARP builds and sends an ARP packet from us to target. ethDst is the
// frame's destination (broadcast for requests being resolved, the cached
// MAC for unicast probes and replies).
func (h *Host) sendARP(op uint16, ethDst, tha wire.MAC, target uint32, out Output) {
	b := out.Pool().Get()
	if b == nil {
		h.c.OutDiscards++
		return
	}
	p := b.Extend(wire.EthernetHeaderLen + wire.ARPLen)
	if p == nil {
		b.Free()
		h.c.OutDiscards++
		return
	}
	wire.PutEthernet(p, ethDst, h.mac, wire.EtherTypeARP)
	wire.PutARP(p[wire.EthernetHeaderLen:], op, h.mac, h.addr, tha, addrOf(target))
	h.c.ArpOut++
	if op == wire.ARPRequest {
		h.c.ArpOutRequests++
	} else {
		h.c.ArpOutReplies++
	}
	h.c.EthOutFrames++
	out.Send(b)
}

// inputARP handles an ARP packet (RFC 826 with Linux's defaults:
// arp_accept=0, arp_ignore=0). b's data starts at the ARP header.
func (h *Host) inputARP(now time.Duration, b *link.Buf, out Output) {
	if !h.handleARP(now, b, out) {
		b.Free()
	}
}

// handleARP reports whether it consumed b (sent it back as a reply).
func (h *Host) handleARP(now time.Duration, b *link.Buf, out Output) bool {
	h.c.ArpIn++
	a, err := wire.ParseARP(b.Bytes())
	if err != nil {
		h.c.ArpInBad++
		return false
	}
	op := a.Op()
	if op == wire.ARPRequest {
		h.c.ArpInRequests++
	} else {
		h.c.ArpInReplies++
	}
	sha := a.SenderMAC()
	spa := b4(a.SenderIP4())
	tpa := b4(a.TargetIP4())
	if sha.IsMulticast() || sha == h.mac {
		h.c.ArpInBad++
		return false
	}
	if spa == h.self {
		// Someone else claims our address (RFC 5227 conflict). Do not
		// learn it; a gratuitous claim is not answered either.
		h.c.ArpInConflicts++
		return false
	}
	forUs := tpa == h.self
	// RFC 826 merge: update an existing entry for the sender.
	learnable := spa != 0 && h.onLink(spa)
	e := (*neighEntry)(nil)
	if learnable {
		e = h.neigh.find(spa)
	}
	if e != nil {
		h.learn(now, e, sha, op == wire.ARPReply && forUs, out)
	} else if learnable && forUs && op == wire.ARPRequest {
		// A request for us: the sender is about to talk to us; create a
		// STALE entry, as Linux's neigh_event_ns does.
		if e = h.newNeigh(now, spa); e != nil {
			e.mac = sha
			e.state = NeighStale
		}
	}
	return op == wire.ARPRequest && forUs && h.replyARP(b, a, out)
}

// onLink: v is inside the connected prefix.
func (h *Host) onLink(v uint32) bool {
	r := &h.routes.routes
	for i := range *r {
		if (*r)[i].gw == 0 {
			return v&(*r)[i].mask == (*r)[i].net
		}
	}
	return false
}

// learn applies a MAC heard from e's owner. solicited: a reply to us,
// which confirms reachability; anything else only refreshes the binding
// (STALE when it changed), as RFC 4861 7.2.5/7.3.3 prescribe.
func (h *Host) learn(now time.Duration, e *neighEntry, mac wire.MAC, solicited bool, out Output) {
	switch {
	case e.state == NeighPermanent:
		return
	case solicited:
		if e.state == NeighIncomplete {
			h.c.NeighResolved++
		}
		e.mac = mac
		e.state = NeighReachable
		e.confirmed = now
		e.probes = 0
	case e.state == NeighIncomplete || e.state == NeighFailed:
		if e.state == NeighIncomplete {
			h.c.NeighResolved++
		}
		e.mac = mac
		e.state = NeighStale
		e.used = now
	case e.mac != [6]byte(mac):
		e.mac = mac
		e.state = NeighStale
		e.used = now
	default:
		return
	}
	if e.head != nil {
		h.flush(e, out)
	}
}

// replyARP turns the request in b into our reply in place and sends it,
// reporting whether it did (and so took b).
func (h *Host) replyARP(b *link.Buf, a wire.ARP, out Output) bool {
	sha, spa := a.SenderMAC(), a.SenderIP()
	// b's data is the ARP packet; the Ethernet header is in front of it.
	if b.Prepend(wire.EthernetHeaderLen) == nil || !b.SetLen(wire.EthernetHeaderLen+wire.ARPLen) {
		return false
	}
	b.Flags, b.GSOSize = 0, 0
	p := b.Bytes()
	wire.PutEthernet(p, sha, h.mac, wire.EtherTypeARP)
	wire.PutARP(p[wire.EthernetHeaderLen:], wire.ARPReply, h.mac, h.addr, sha, spa)
	h.c.ArpOut++
	h.c.ArpOutReplies++
	h.c.EthOutFrames++
	out.Send(b)
	return true
}

// NeighInfo describes one neighbour cache entry (like `ip neigh`).
type NeighInfo struct {
	Addr      netip.Addr
	MAC       [6]byte // zero while INCOMPLETE
	State     NeighState
	Probes    int           // requests or probes sent in the current INCOMPLETE/PROBE round
	Queued    int           // packets waiting for resolution
	Confirmed time.Duration // last confirmation of reachability
	Used      time.Duration // last use
}

// Neighbours appends the neighbour cache's entries to dst and returns it;
// with enough capacity in dst it allocates nothing. Order is unspecified.
func (h *Host) Neighbours(dst []NeighInfo) []NeighInfo {
	for i := range h.neigh.slots {
		e := &h.neigh.slots[i]
		if !e.inUse {
			continue
		}
		dst = append(dst, NeighInfo{
			Addr: addrOf(e.addr), MAC: e.mac, State: e.state, Probes: int(e.probes),
			Queued: e.npend, Confirmed: e.confirmed, Used: e.used,
		})
	}
	return dst
}
