// Package interop holds ustack's kernel interoperability suite: tests
// (no API) that run the `ustack` command against the Linux kernel's own
// TCP/IP stack over each real packet path — TAP, AF_PACKET and AF_XDP —
// inside throw-away network namespaces (package internal/netns).
//
// TestMain builds the ustack command and a small kernel-side helper
// (kpeer: an HTTP server, a client that resets, a refused-connection
// probe) once. For each path the tests check that the kernel pings the
// stack, that curl downloads a 1 GiB generated file from `ustack serve
// http` with a matching SHA-256, that 200 parallel curl requests all
// succeed (one curl with 200 transfers at once, and 200 curl processes), that a kernel client resetting mid-transfer is reported by the
// server and its connection freed, that a closed port answers RST
// (connection refused), and that `ustack get` downloads intact from a Go
// HTTP server on the kernel side. A lossy run (ustack's --impair on its
// side, an nftables netdev egress rule dropping 1% on the kernel's side)
// moves 64 MiB each way, and a pcapng capture of a run is checked with
// tshark for malformed packets and bad checksums.
//
// The tests need root (namespaces, veth, TAP, packet sockets, BPF) and
// the tools ip, curl, ethtool, nft, ping, sha256sum, bash and tshark; they
// skip with the reason when those are missing, and fail instead when
// CI=true. Every path serves a 1 GiB download. USTACK_INTEROP_BIG=1 also
// has `ustack get` fetch 1 GiB instead of 64 MiB and runs the lossy test
// (about 70 s a path, most of it the kernel's loss-limited upload) on
// every path instead of AF_PACKET only.
package interop
