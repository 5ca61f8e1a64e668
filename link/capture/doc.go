// Package capture wraps any link.Link so that every frame it receives and
// every frame it sends is also written, with a timestamp and its
// direction, to a pcapng file that Wireshark and tshark read — the
// userspace stack's tcpdump.
//
// The file is one section: a Section Header Block, one Interface
// Description Block (link type Ethernet, nanosecond timestamps, the
// interface name and description given as options) and one Enhanced
// Packet Block per frame, whose epb_flags option marks it inbound
// (received by Recv) or outbound (accepted by Send). Layout and codes
// follow the IETF pcapng draft (draft-ietf-opsawg-pcapng); multi-byte
// fields are little-endian, which the byte-order magic tells readers.
//
// Capturing never disturbs the data path. Blocks are built in a buffer
// the wrapper owns and written out when it fills, on Flush and on Close;
// building one allocates nothing. The first write error stops the capture
// for good: it is kept (Err), counted (CaptureStats), and frames keep
// flowing uncaptured.
//
// Sent frames are recorded before the inner link's Send, because once
// Send has taken a Buf it may be freed at any moment (link/mem hands it
// straight to the peer); records of frames Send then refused are taken
// back out of the buffer, so only accepted frames appear in the file.
package capture
