package ip

import (
	"net/netip"
	"time"

	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/wire"
)

// Output is where a Host sends frames and takes buffers for the frames it
// builds itself (ARP, ICMP, fragments). *shard.TX satisfies it.
type Output interface {
	// Send takes ownership of b, a complete Ethernet frame.
	Send(b *link.Buf)
	// Pool returns the pool to take new frame buffers from.
	Pool() *link.Pool
}

// Packet is the metadata of a datagram handed to a Transport. It lives in
// the Host and is valid only during the Deliver call: copy what you keep.
type Packet struct {
	Src, Dst netip.Addr
	Proto    uint8
	TTL      uint8
	TOS      uint8
	ID       uint16
	// HeaderLen is the IPv4 header's length. The header is still in the
	// buffer's headroom, just in front of the L4 data; SendUnreachable
	// uses it to quote the datagram.
	HeaderLen int
	// Broadcast: the destination was the limited or the subnet broadcast
	// address. Transports must not answer such datagrams with errors.
	Broadcast bool
	// Reassembled: the datagram arrived in fragments.
	Reassembled bool
	// SrcMAC is the Ethernet source of the frame (of the last fragment).
	SrcMAC [6]byte
}

// Transport receives the datagrams of one IP protocol.
type Transport interface {
	// Deliver hands over b, whose data starts at the L4 header and ends
	// with the datagram (link padding removed). The transport owns b.
	Deliver(now time.Duration, p *Packet, b *link.Buf, out Output)
}

// ICMPError is an ICMP error (destination unreachable, time exceeded,
// parameter problem) about a datagram this host sent, or a local error
// about a packet the host had to drop (neighbour resolution failed). It is
// valid only during the call.
type ICMPError struct {
	Type, Code uint8
	// From is who sent the error (the host itself for local errors).
	From netip.Addr
	// MTU is the next-hop MTU of a "fragmentation needed" error (type 3
	// code 4), else 0.
	MTU uint16
	// Src, Dst and Proto are the quoted datagram's.
	Src, Dst netip.Addr
	Proto    uint8
	// L4 is the start of the quoted datagram's payload: at least 8 bytes
	// (ports, or TCP's sequence number).
	L4 []byte
}

// ICMPErrorHandler is implemented by Transports that want ICMP errors
// about their datagrams: path MTU, unreachable ports and hosts.
type ICMPErrorHandler interface {
	ICMPError(now time.Duration, e *ICMPError)
}

// EchoReplyHandler receives ICMP echo replies (answers to Ping).
type EchoReplyHandler interface {
	// EchoReply: data aliases the received frame; copy it to keep it.
	EchoReply(now time.Duration, from netip.Addr, id, seq uint16, data []byte)
}

// NeighFailureHandler learns when a neighbour could not be resolved or
// stopped answering probes, so a sockets layer can report EHOSTUNREACH.
type NeighFailureHandler interface {
	NeighFailed(now time.Duration, addr netip.Addr)
}

// Host is one IPv4 interface: address, neighbour cache, routes,
// reassembly and ICMP. It is not safe for concurrent use: one shard owns
// it.
type Host struct {
	cfg   Config
	addr  netip.Addr
	self  uint32
	bcast uint32 // subnet broadcast, or limitedBroadcast for /31 and /32
	mac   wire.MAC

	routes table
	ipID   uint16

	transports [256]Transport
	echo       EchoReplyHandler
	neighFail  NeighFailureHandler

	neigh     neighTable
	pendTotal int

	frag reassembler

	pmtu     [pmtuSlots]pmtuEntry
	pmtuUsed int // entries ever filled: 0 skips the lookup

	icmpTokens int64 // ICMP error tokens, scaled by tokenScale
	icmpLast   time.Duration
	icmpInit   bool
	icmpPeers  [icmpPeerSlots]icmpPeer

	loopHead, loopTail *link.Buf // datagrams to our own address, delivered in Tick

	timerSet  bool
	nextTimer time.Duration
	gcAt      time.Duration // 0: not armed

	l2bcast bool // the frame being input was sent to the Ethernet broadcast

	pkt    Packet
	icmpEv ICMPError
	c      Counters
}

// New validates cfg, applies its defaults and returns a Host.
func New(cfg Config) (*Host, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	h := &Host{
		cfg:    cfg,
		addr:   cfg.Addr.Addr(),
		self:   a4(cfg.Addr.Addr()),
		bcast:  limitedBroadcast,
		mac:    wire.MAC(cfg.MAC),
		routes: newTable(&cfg),
		ipID:   cfg.IDSeed,
		neigh:  newNeighTable(cfg.Neigh.CacheSize),
	}
	var err error
	if h.frag, err = newReassembler(&cfg.Frag); err != nil {
		return nil, err
	}
	if bits := cfg.Addr.Bits(); bits <= 30 {
		h.bcast = a4(cfg.Addr.Masked().Addr()) | ^maskOf(bits)
	}
	return h, nil
}

// Config returns the Host's configuration with defaults applied.
func (h *Host) Config() Config { return h.cfg }

// Addr is the host's address.
func (h *Host) Addr() netip.Addr { return h.addr }

// MTU is the configured MTU.
func (h *Host) MTU() int { return h.cfg.MTU }

// Register makes t receive every datagram of protocol proto addressed to
// the host (nil unregisters). ICMP is handled by the Host; a Transport
// registered for protocol 1 receives the ICMP messages the Host does not
// consume itself (types other than echo, echo reply and the errors).
func (h *Host) Register(proto uint8, t Transport) { h.transports[proto] = t }

// SetEchoReplyHandler sets who receives echo replies (nil: dropped, or
// given to a Transport registered for ICMP).
func (h *Host) SetEchoReplyHandler(e EchoReplyHandler) { h.echo = e }

// SetNeighFailureHandler sets who learns about failed neighbours.
func (h *Host) SetNeighFailureHandler(f NeighFailureHandler) { h.neighFail = f }

// ReasmPool is the pool reassembly takes buffers from for datagrams too
// large for their first fragment's buffer (see FragConfig.Buffers), or
// nil when there is none. Ping also takes from it echo requests too large
// for out's buffers; a sender may do the same for a large datagram it
// hands straight to Output (which copies it into out's buffers as it
// fragments it and frees it), at the cost of a buffer reassembly may miss
// meanwhile. Its Free is safe from any goroutine.
func (h *Host) ReasmPool() *link.Pool { return h.frag.pool }

// Counters returns a snapshot of the Host's counters.
func (h *Host) Counters() Counters { return h.c }

func (h *Host) nextID() uint16 {
	id := h.ipID
	h.ipID++
	return id
}

// arm makes sure NextDeadline reports t or earlier.
func (h *Host) arm(t time.Duration) {
	if !h.timerSet || t < h.nextTimer {
		h.timerSet = true
		h.nextTimer = t
	}
}

// NextDeadline returns when Tick must next run, and false when nothing is
// pending. The deadline may be early (a timer that was since cancelled);
// Tick then just recomputes it.
func (h *Host) NextDeadline() (time.Duration, bool) {
	return h.nextTimer, h.timerSet
}

// Tick runs every timer due at now: ARP retransmissions and probes,
// neighbour failures, reassembly timeouts, neighbour garbage collection,
// and delivery of datagrams the host sent to itself.
func (h *Host) Tick(now time.Duration, out Output) {
	if !h.timerSet || now < h.nextTimer {
		return
	}
	h.timerSet = false
	h.deliverLoop(now, out)
	h.neighTick(now, out)
	h.fragTick(now, out)
}
