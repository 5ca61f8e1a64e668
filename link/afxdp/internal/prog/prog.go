package prog

import (
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// XDP verdicts (enum xdp_action).
const (
	Aborted  = 0
	Drop     = 1
	Pass     = 2
	TX       = 3
	Redirect = 4
)

// Offsets into the frame and into struct xdp_md, the program's context.
const (
	ethLen       = 14
	ethTypeOff   = 12
	ipv4MinLen   = 20
	ipv4DstOff   = ethLen + 16 // destination address
	arpLen       = 28
	arpHtypeOff  = ethLen + 0
	arpPtypeOff  = ethLen + 2
	arpTpaOff    = ethLen + 24 // target protocol address
	ipv4ProtoOff = ethLen + 9
	ipv4FragOff  = ethLen + 6 // flags and fragment offset
	mdData       = 0
	mdDataEnd    = 4
	mdRxQueueIdx = 16
)

// EtherTypes and ARP fields as a little-endian 16-bit load of the
// big-endian wire bytes sees them.
const (
	leIPv4     = 0x0008 // 08 00
	leARP      = 0x0608 // 08 06
	leHtypeEth = 0x0100 // 00 01
	// leMoreFragsOffset masks MF and the fragment offset (0x3fff on the wire).
	leMoreFragsOffset = 0xff3f
)

// IP protocol numbers the program knows.
const (
	ProtoICMP = 1
	ProtoTCP  = 6
	ProtoUDP  = 17
)

// Rule flags: the value stored for an address in the rules map.
const (
	// RuleAll steers all IPv4 to the address (and ARP for it).
	RuleAll uint32 = 0
	// RulePorts steers only TCP and UDP whose destination port is in the
	// ports map, plus ICMP, fragments (their ports are not visible) and
	// ARP; other TCP and UDP to the address goes to the kernel.
	RulePorts uint32 = 1
)

// DefaultMaxPorts bounds the ports map when Config.MaxPorts is zero.
const DefaultMaxPorts = 256

// DefaultMaxRules bounds the rules map when Config.MaxRules is zero.
const DefaultMaxRules = 16

// Config describes the program to build.
type Config struct {
	// Queues is the XSKMAP's size: sockets may be registered for rx
	// queues [0, Queues). At least 1.
	Queues int
	// MaxRules is the most addresses the rules map holds. Default 16.
	MaxRules int
	// MaxPorts is the most (protocol, port) pairs the ports map holds.
	// Default 256.
	MaxPorts int
	// Fallback is the verdict when the XSKMAP has no socket for the
	// frame's queue: Pass in production; tests use Aborted to see that a
	// frame would have been redirected.
	Fallback uint32
}

// Objects are the loaded program and its maps. Close releases them all.
type Objects struct {
	Program *ebpf.Program
	Rules   *ebpf.Map // key: IPv4 address (4 bytes, network order); value: uint32 rule flags
	Ports   *ebpf.Map // key: {protocol, 0, port (network order)}; value: uint32, reserved (0)
	XSKs    *ebpf.Map // key: rx queue index (uint32); value: AF_XDP socket fd (uint32)
}

// Load creates the maps and loads the program. It needs CAP_BPF (or
// root); errors wrap the ones from cilium/ebpf (and so the errno).
func Load(cfg Config) (*Objects, error) {
	if cfg.Queues < 1 || cfg.Queues > 1<<16 {
		return nil, fmt.Errorf("prog: queue count %d out of range [1, %d]", cfg.Queues, 1<<16)
	}
	if cfg.MaxRules == 0 {
		cfg.MaxRules = DefaultMaxRules
	}
	if cfg.MaxRules < 1 || cfg.MaxRules > 1<<16 {
		return nil, fmt.Errorf("prog: max rules %d out of range [1, %d]", cfg.MaxRules, 1<<16)
	}
	if cfg.MaxPorts == 0 {
		cfg.MaxPorts = DefaultMaxPorts
	}
	if cfg.MaxPorts < 1 || cfg.MaxPorts > 1<<16 {
		return nil, fmt.Errorf("prog: max ports %d out of range [1, %d]", cfg.MaxPorts, 1<<16)
	}
	if cfg.Fallback > TX {
		return nil, fmt.Errorf("prog: fallback verdict %d is not one of aborted, drop, pass, tx", cfg.Fallback)
	}
	o := &Objects{}
	var err error
	o.Rules, err = ebpf.NewMap(&ebpf.MapSpec{
		Name:       "ustack_rules",
		Type:       ebpf.Hash,
		KeySize:    4,
		ValueSize:  4,
		MaxEntries: uint32(cfg.MaxRules),
	})
	if err != nil {
		return nil, fmt.Errorf("prog: creating the rules map: %w", err)
	}
	o.Ports, err = ebpf.NewMap(&ebpf.MapSpec{
		Name:       "ustack_ports",
		Type:       ebpf.Hash,
		KeySize:    4,
		ValueSize:  4,
		MaxEntries: uint32(cfg.MaxPorts),
	})
	if err != nil {
		o.Close()
		return nil, fmt.Errorf("prog: creating the ports map: %w", err)
	}
	o.XSKs, err = ebpf.NewMap(&ebpf.MapSpec{
		Name:       "ustack_xsks",
		Type:       ebpf.XSKMap,
		KeySize:    4,
		ValueSize:  4,
		MaxEntries: uint32(cfg.Queues),
	})
	if err != nil {
		o.Close()
		return nil, fmt.Errorf("prog: creating the XSKMAP: %w", err)
	}
	o.Program, err = ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "ustack_xdp",
		Type:         ebpf.XDP,
		License:      "Dual MIT/GPL",
		Instructions: Instructions(o.Rules.FD(), o.Ports.FD(), o.XSKs.FD(), cfg.Fallback),
	})
	if err != nil {
		o.Close()
		return nil, fmt.Errorf("prog: loading the XDP program: %w", err)
	}
	return o, nil
}

// AddAddr makes frames for a (IPv4 to it, ARP asking for or answering it)
// go to the socket, as rule (RuleAll or RulePorts) says. Adding an address
// again replaces its rule.
func (o *Objects) AddAddr(a netip.Addr, rule uint32) error {
	if !a.Is4() {
		return fmt.Errorf("prog: %s is not an IPv4 address", a)
	}
	if rule != RuleAll && rule != RulePorts {
		return fmt.Errorf("prog: unknown rule %#x", rule)
	}
	if err := o.Rules.Put(a.As4(), rule); err != nil {
		return fmt.Errorf("prog: adding %s to the rules map: %w", a, err)
	}
	return nil
}

// RemoveAddr undoes AddAddr.
func (o *Objects) RemoveAddr(a netip.Addr) error {
	if !a.Is4() {
		return fmt.Errorf("prog: %s is not an IPv4 address", a)
	}
	if err := o.Rules.Delete(a.As4()); err != nil {
		return fmt.Errorf("prog: removing %s from the rules map: %w", a, err)
	}
	return nil
}

func portKey(proto uint8, port uint16) [4]byte {
	return [4]byte{proto, 0, byte(port >> 8), byte(port)}
}

// AddPort adds a (protocol, destination port) pair that RulePorts
// addresses steer to the socket. proto is ProtoTCP or ProtoUDP.
func (o *Objects) AddPort(proto uint8, port uint16) error {
	if proto != ProtoTCP && proto != ProtoUDP {
		return fmt.Errorf("prog: protocol %d is not TCP or UDP", proto)
	}
	if err := o.Ports.Put(portKey(proto, port), uint32(0)); err != nil {
		return fmt.Errorf("prog: adding port %d/%d to the ports map: %w", port, proto, err)
	}
	return nil
}

// RemovePort undoes AddPort.
func (o *Objects) RemovePort(proto uint8, port uint16) error {
	if err := o.Ports.Delete(portKey(proto, port)); err != nil {
		return fmt.Errorf("prog: removing port %d/%d from the ports map: %w", port, proto, err)
	}
	return nil
}

// SetSocket registers the AF_XDP socket fd for rx queue q.
func (o *Objects) SetSocket(q, fd int) error {
	if err := o.XSKs.Put(uint32(q), uint32(fd)); err != nil {
		return fmt.Errorf("prog: registering socket %d for queue %d in the XSKMAP: %w", fd, q, err)
	}
	return nil
}

// Close releases the program and the maps (those that were made).
func (o *Objects) Close() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	if o.Program != nil {
		keep(o.Program.Close())
	}
	if o.XSKs != nil {
		keep(o.XSKs.Close())
	}
	if o.Ports != nil {
		keep(o.Ports.Close())
	}
	if o.Rules != nil {
		keep(o.Rules.Close())
	}
	return first
}

// Instructions is the program text, with the three maps given by fd.
// Registers: R6 holds the context and R7 the frame kind (0 ARP, 1 IPv4)
// across helper calls; R2 and R3 the packet start and end; R5 the key
// looked up.
func Instructions(rulesFD, portsFD, xsksFD int, fallback uint32) asm.Instructions {
	return asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.LoadMem(asm.R2, asm.R1, mdData, asm.Word),
		asm.LoadMem(asm.R3, asm.R1, mdDataEnd, asm.Word),

		// Ethernet header present?
		asm.Mov.Reg(asm.R4, asm.R2),
		asm.Add.Imm(asm.R4, ethLen),
		asm.JGT.Reg(asm.R4, asm.R3, "pass"),
		asm.LoadMem(asm.R5, asm.R2, ethTypeOff, asm.Half),
		asm.JEq.Imm(asm.R5, leIPv4, "ipv4"),
		asm.JEq.Imm(asm.R5, leARP, "arp"),
		asm.Ja.Label("pass"),

		// IPv4: a whole minimal header, version 4, then the destination
		// (two 16-bit loads: the address is only 2-byte aligned).
		asm.Mov.Reg(asm.R4, asm.R2).WithSymbol("ipv4"),
		asm.Add.Imm(asm.R4, ethLen+ipv4MinLen),
		asm.JGT.Reg(asm.R4, asm.R3, "pass"),
		asm.LoadMem(asm.R4, asm.R2, ethLen, asm.Byte),
		asm.RSh.Imm(asm.R4, 4),
		asm.JNE.Imm(asm.R4, 4, "pass"),
		asm.LoadMem(asm.R5, asm.R2, ipv4DstOff, asm.Half),
		asm.LoadMem(asm.R0, asm.R2, ipv4DstOff+2, asm.Half),
		asm.Mov.Imm(asm.R7, 1),
		asm.Ja.Label("lookup"),

		// ARP: Ethernet/IPv4 only, then the target protocol address.
		asm.Mov.Reg(asm.R4, asm.R2).WithSymbol("arp"),
		asm.Add.Imm(asm.R4, ethLen+arpLen),
		asm.JGT.Reg(asm.R4, asm.R3, "pass"),
		asm.LoadMem(asm.R4, asm.R2, arpHtypeOff, asm.Half),
		asm.JNE.Imm(asm.R4, leHtypeEth, "pass"),
		asm.LoadMem(asm.R4, asm.R2, arpPtypeOff, asm.Half),
		asm.JNE.Imm(asm.R4, leIPv4, "pass"),
		asm.LoadMem(asm.R5, asm.R2, arpTpaOff, asm.Half),
		asm.LoadMem(asm.R0, asm.R2, arpTpaOff+2, asm.Half),
		asm.Mov.Imm(asm.R7, 0),

		// key = the four address bytes in wire order, on the stack.
		asm.LSh.Imm(asm.R0, 16).WithSymbol("lookup"),
		asm.Or.Reg(asm.R5, asm.R0),
		asm.StoreMem(asm.RFP, -4, asm.R5, asm.Word),
		asm.LoadMapPtr(asm.R1, rulesFD),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "pass"),

		// RulePorts on IPv4: look at the transport header.
		asm.LoadMem(asm.R1, asm.R0, 0, asm.Word),
		asm.And.Imm(asm.R1, int32(RulePorts)),
		asm.JEq.Imm(asm.R1, 0, "redirect"),
		asm.JEq.Imm(asm.R7, 0, "redirect"),
		// The helper call clobbered R1-R5: fetch the packet again and
		// prove its bounds again.
		asm.LoadMem(asm.R2, asm.R6, mdData, asm.Word),
		asm.LoadMem(asm.R3, asm.R6, mdDataEnd, asm.Word),
		asm.Mov.Reg(asm.R4, asm.R2),
		asm.Add.Imm(asm.R4, ethLen+ipv4MinLen),
		asm.JGT.Reg(asm.R4, asm.R3, "pass"),
		asm.LoadMem(asm.R5, asm.R2, ipv4ProtoOff, asm.Byte),
		asm.JEq.Imm(asm.R5, ProtoICMP, "redirect"),
		asm.LoadMem(asm.R4, asm.R2, ipv4FragOff, asm.Half),
		asm.And.Imm(asm.R4, leMoreFragsOffset),
		asm.JNE.Imm(asm.R4, 0, "redirect"), // a fragment: no ports to see
		asm.JEq.Imm(asm.R5, ProtoTCP, "l4"),
		asm.JEq.Imm(asm.R5, ProtoUDP, "l4"),
		asm.Ja.Label("pass"),

		// Destination port, behind a header of IHL*4 bytes (20 to 60).
		asm.LoadMem(asm.R4, asm.R2, ethLen, asm.Byte).WithSymbol("l4"),
		asm.And.Imm(asm.R4, 0x0f),
		asm.LSh.Imm(asm.R4, 2),
		asm.JLT.Imm(asm.R4, ipv4MinLen, "pass"),
		asm.Add.Reg(asm.R2, asm.R4),
		asm.Mov.Reg(asm.R1, asm.R2),
		asm.Add.Imm(asm.R1, ethLen+4),
		asm.JGT.Reg(asm.R1, asm.R3, "pass"),
		asm.LoadMem(asm.R4, asm.R2, ethLen+2, asm.Half),
		// key = {proto, 0, port bytes in wire order}
		asm.LSh.Imm(asm.R4, 16),
		asm.Or.Reg(asm.R4, asm.R5),
		asm.StoreMem(asm.RFP, -8, asm.R4, asm.Word),
		asm.LoadMapPtr(asm.R1, portsFD),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -8),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "pass"),

		// Ours: into the socket of this rx queue.
		asm.LoadMem(asm.R2, asm.R6, mdRxQueueIdx, asm.Word).WithSymbol("redirect"),
		asm.LoadMapPtr(asm.R1, xsksFD),
		asm.Mov.Imm(asm.R3, int32(fallback)),
		asm.FnRedirectMap.Call(),
		asm.Return(),

		asm.Mov.Imm(asm.R0, Pass).WithSymbol("pass"),
		asm.Return(),
	}
}
