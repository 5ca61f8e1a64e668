// Package afxdp is a link.Link over an AF_XDP socket: frames move between
// the stack and one receive queue of a network interface through four
// rings shared with the kernel, without the kernel's network stack.
//
// # What Open sets up
//
//   - A UMEM: one anonymous mapping cut into equal frames (2048 or 4096
//     bytes), registered with XDP_UMEM_REG. The first half of the frames
//     receive, the second half transmit.
//   - The fill, completion, RX and TX rings, sized and mapped at the
//     offsets XDP_MMAP_OFFSETS reports. Producer and consumer indices live
//     in the mappings and are read and written atomically; each side
//     caches its view of the other's index.
//   - A bind to (interface, queue) with XDP_USE_NEED_WAKEUP, letting the
//     kernel pick zero-copy where the driver has it and retrying with
//     XDP_COPY if that bind fails (WithBindMode forces either).
//   - An XDP program, generated in Go with cilium/ebpf's asm package (see
//     internal/prog), that redirects IPv4 and ARP for the stack's
//     addresses (WithAddrs, AddAddr) into the socket through an XSKMAP
//     keyed by rx queue, and passes everything else to the kernel
//     (WithPorts narrows TCP and UDP to listed destination ports). It is
//     attached with a BPF link in native (driver) mode where the driver has
//     it and in generic (SKB) mode otherwise; Mode says which. Close
//     detaches it.
//
// # Copies
//
// Receive copies each frame once, out of its UMEM frame into a Buf from
// the link's pool, and gives the UMEM frame back to the fill ring at once.
// Send copies each frame once, from the caller's Buf into an idle UMEM TX
// frame, posts it, and frees the Buf; transmitted frames come back through
// the completion ring. Removing these copies needs Bufs whose memory is the
// UMEM: a link.Pool built over caller-provided memory with a hook that
// tells the link when a Buf is freed (so the UMEM frame can go back to the
// fill ring), and a way to map a Buf to its UMEM address. link.NewPool
// cannot do that today; it is future work, as is zero-copy TX.
//
// # Waking up
//
// Fd is the socket, non-blocking: poll(2) (or the Go netpoller) reports
// it readable when the RX ring has frames. Send kicks the kernel with
// sendto only when the TX ring carries XDP_RING_NEED_WAKEUP; in copy mode
// the kernel transmits a batch per kick, so Send kicks until the ring is
// drained and Recv finishes a drain Send had to leave. Recv wakes the
// driver with recvfrom when the fill ring asks for it.
//
// # One program per interface
//
// An interface has one XDP hook, so the Links on its queues share one
// program. The first Open on an interface (in this process and network
// namespace) loads and attaches it; each Open registers its socket in the
// program's XSKMAP at its queue; each Close takes its socket out, and the
// last one detaches the program. The steering is the program's, so it is
// the interface's: Links on one interface must be opened with the same
// WithAddrs, WithPorts, WithMaxAddrs (compared with the steering as it
// stands, after any AddAddr or AddPort) and a compatible attach mode, or
// Open fails with ErrMismatch; AddAddr and friends on any of them change
// it for all. A queue that already has a Link of this process is
// ErrQueueBusy. Frames for the stack's address arriving on a queue without
// a Link find no socket in the XSKMAP and go to the kernel. A program
// attached by another process still makes Open fail with ErrBusy.
//
// # veth
//
// veth has native XDP. Frames the socket transmits in copy mode leave as
// ordinary skbs through the veth, so the peer needs no XDP program of its
// own; that requirement (an XDP program or GRO on the peer, to give it a
// NAPI context) applies only to XDP_TX and redirects into a veth.
//
// # Privileges and namespaces
//
// Open needs root, or CAP_NET_ADMIN, CAP_BPF and CAP_NET_RAW; it works in
// the network namespace of the calling OS thread. Errors name the step
// that failed and wrap ErrPermission, ErrMemlock, ErrNoNativeXDP,
// ErrNoZeroCopy, ErrQueueRange, ErrNoAFXDP or ErrBusy where one applies.
package afxdp
