// Package interop holds ustack's kernel interoperability suite: tests
// (no API) that run the `ustack` command against the Linux kernel's own
// TCP/IP stack over each real packet path — TAP, AF_PACKET and AF_XDP —
// inside throw-away network namespaces (package internal/netns).
//
// TestMain builds the ustack command and a small kernel-side helper
// (kpeer: an HTTP server, a client that resets, a refused-connection
// probe) once. For each path the tests check that
//   - the kernel pings the stack;
//   - curl downloads a 1 GiB generated file from `ustack serve http` with
//     a matching SHA-256;
//   - 200 parallel curl requests all succeed (one curl with 200 transfers
//     at once, and 200 curl processes);
//   - a kernel client resetting mid-transfer is reported by the server
//     (log line and counter) and its connection freed;
//   - a closed port answers RST: the kernel client sees connection refused;
//   - SIGINT stops the server cleanly;
//   - `ustack get` downloads intact from a Go HTTP server on the kernel side.
//
// A lossy run (ustack's --impair delay=20ms,reorder=1%,dup=0.1% on its
// side, an nftables netdev egress rule dropping 1% on the kernel's side)
// moves 64 MiB each way: a curl download, and a curl upload (PUT) to the
// server's hashing sink. A pcapng capture of a clean run, ended with
// SIGTERM, is read with tshark: no malformed frames, bad checksums or
// expert errors.
//
// TestShards runs `ustack serve --shards 2` (one shard per queue: a
// multi_queue TAP device, an AF_PACKET fanout group, an AF_XDP socket on
// each queue of a two-queue veth sharing one XDP program) under 200
// parallel requests and a 64 MiB download, and checks from the server's
// stats that both queues received and that frames were handed between
// shards.
//
// The kernel's veth end runs with TSO and GSO off (its super-frames would
// not fit an AF_PACKET ring slot or an AF_XDP frame), and for AF_XDP with
// transmit checksum offload off too (AF_XDP receives partial checksums
// unfinished). The stack's veth end carries no kernel address.
//
// The tests need root (namespaces, veth, TAP, packet sockets, BPF) and
// the tools ip, curl, ethtool, nft, ping, sha256sum, bash and tshark; they
// skip with the reason when those are missing, and fail instead when
// CI=true. The lossy test runs on every path (about 70 s a path, most of
// it the kernel's loss-limited upload). USTACK_INTEROP_BIG=1 also has
// `ustack get` fetch 1 GiB instead of 64 MiB.
package interop
