// Package spec names links with short strings, for command lines and
// configuration files, and opens them.
//
// The accepted forms are:
//
//	mem                  an in-process pair (link/mem); Open returns one end
//	tap:NAME             a TAP device (link/tap), created if it does not exist
//	afpacket:IFACE       an AF_PACKET socket on IFACE (link/afpacket)
//	afxdp:IFACE[:QUEUE]  an AF_XDP socket on IFACE's queue QUEUE (default 0)
//
// Parse checks the syntax only; Open makes the link and reports what is
// missing (privileges, the interface, a backend not built yet).
//
// OpenQueues makes n links that are queues of one device, for a stack
// with one shard per queue: n queues of a multi-queue TAP device, n
// AF_PACKET sockets in one PACKET_FANOUT hash group, or AF_XDP sockets on
// queues QUEUE to QUEUE+n-1.
//
// Open dispatches with a switch over the kinds rather than a registry
// that backends add themselves to: there is no global mutable state, and
// adding a backend is one case in Open plus one in Parse.
package spec
