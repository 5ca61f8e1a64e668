// Package afpacket is a link.Link on a Linux AF_PACKET socket bound to one
// network interface, with memory-mapped receive and transmit rings.
//
// # Rings
//
// The socket uses PACKET_VERSION TPACKET_V2 by default. The kernel writes
// each received frame into a slot of the RX ring and hands the slot over by
// setting TP_STATUS_USER in its status word; Recv reads the status with an
// atomic load, copies the frame into a pool buffer and gives the slot back
// with an atomic store of TP_STATUS_KERNEL. Receiving costs no system call.
// The descriptor (Fd) polls readable while a slot is ready.
//
// Send copies each frame into a TX ring slot, marks it
// TP_STATUS_SEND_REQUEST (atomic store) and, once per burst, kicks the
// kernel with a zero-length sendto(2) with MSG_DONTWAIT, which sends every
// requested slot; the kernel returns a slot to TP_STATUS_AVAILABLE when
// its frame has left. A kick that fails with EAGAIN or ENOBUFS leaves the
// slots requested and is retried on the next Send or Recv. The sendmmsg
// fallback is not needed on the kernels ustack supports (TX rings exist
// since 2.6.31) and is not implemented.
//
// WithV3 switches to TPACKET_V3, where the kernel fills whole blocks of
// frames and retires a block when it is full or when the block timeout
// expires: fewer wake-ups and more throughput under load, but a frame
// that arrives on a quiet link waits up to the timeout before Recv can see
// it. Use V2 (the default) for latency.
//
// # Addresses
//
// By default HardwareAddr is the interface's own MAC. The kernel's IP stack
// must not also own the IP address ustack uses on that interface (it would
// answer ARP and ICMP for it and send RSTs for TCP): give the address to
// ustack only, and keep IP forwarding off there (net.ipv4.ip_forward=0, the
// default) so the kernel silently ignores the stack's traffic, which it
// also sees. WithHardwareAddr sets another MAC and turns on promiscuous
// mode so frames sent to it are delivered.
//
// # Options
//
// WithQdiscBypass (PACKET_QDISC_BYPASS) sends straight to the driver,
// skipping traffic control. WithVnetHdr (PACKET_VNET_HDR) exchanges a
// virtio-net header with every frame: receive checksums marked partial are
// completed from it and transmit frames may carry FlagCsumPartial and
// FlagGSO (the kernel cuts them). Without it, frames the kernel marks
// TP_STATUS_CSUMNOTREADY (sent from the same host with checksum offload,
// as on a veth pair) have their TCP/UDP checksum completed in software,
// and FlagCsumPartial frames are completed in software before sending.
// WithFanout joins a PACKET_FANOUT group in hash mode so several links
// (one per shard) on the same interface share its traffic by flow.
//
// # Concurrency
//
// Recv and Send are called by the owning goroutine. Close may be called
// from any goroutine: it waits for a Recv, Send or Stats in progress to
// finish before it unmaps the rings, and later calls return 0.
package afpacket
