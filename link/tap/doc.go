// Package tap is a link.Link on a Linux TAP device (/dev/net/tun with
// IFF_TAP|IFF_NO_PI).
//
// Open creates the device if it does not exist (it then disappears when
// the link closes, unless it was made persistent with `ip tuntap add`) or
// attaches to an existing one. The kernel side of the device is an
// ordinary interface: give it an address and bring it up with ip(8), and
// the host talks to the stack through it. The stack's own hardware
// address (HardwareAddr) is a random locally administered MAC, not the
// kernel side's MAC, because the two are different ends of the wire.
//
// Recv reads frames with read(2) on the non-blocking descriptor straight
// into pool buffers, up to a burst per call; Send writes each frame with
// one writev(2) (virtio-net header, frame) or write(2). Neither allocates.
//
// WithVnetHdr sets IFF_VNET_HDR: every frame carries a virtio-net header
// (package link/tap/vnet), so Send can pass FlagCsumPartial and FlagGSO
// frames for the kernel to finish and cut. WithOffload additionally
// (TUNSETOFFLOAD) lets the kernel hand over frames with partial checksums
// and, with GSO, coalesced TCP segments up to 64 KiB; Recv completes
// partial checksums in software and marks such frames FlagCsumValid, and
// marks coalesced ones FlagGSO with their GSOSize.
//
// WithMultiQueue sets IFF_MULTI_QUEUE: each Open with it attaches one more
// queue to the same device (OpenQueues opens several), and the kernel
// spreads flows over the queues, one per shard.
package tap
