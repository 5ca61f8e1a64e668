// Package prog builds the XDP program link/afxdp attaches to an interface,
// written instruction by instruction with cilium/ebpf's asm package so that
// no C compiler is needed at build or run time.
//
// The program steers a frame into the AF_XDP socket of its receive queue
// (bpf_redirect_map on an XSKMAP keyed by the rx queue index) when it is
//
//   - IPv4 (EtherType 0x0800, version 4) whose destination address is a key
//     of the rules map, or
//   - ARP for IPv4 over Ethernet whose target protocol address is a key of
//     the rules map (requests for, and replies to, the stack's address).
//
// An address whose rule is RulePorts steers only TCP and UDP whose
// destination port is a key of the ports map, plus ICMP, fragments (whose
// ports are not visible) and ARP; its other TCP and UDP goes to the
// kernel. The transport header is found behind the IPv4 header's IHL.
//
// Everything else, and a frame the program cannot parse, is XDP_PASS: the
// kernel sees it as if no program were attached. When the XSKMAP holds no
// socket for the queue, redirect_map's fallback action applies (XDP_PASS
// in production).
package prog
