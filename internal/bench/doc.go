// Package bench measures TCP implementations side by side: the same
// workloads (1-byte request/response round trips, one-way bulk transfer,
// connection churn) run against each System, and each measurement becomes
// rows of one flat shape (system, workload, metric, value, unit) that print
// as a table, with every figure beside the kernel's and its ratio, or as
// JSON.
//
// A System is a small adapter. NetSystem runs the workloads through
// net.Listener and net.Conn, which covers the kernel (package net over
// loopback), ustack's socket layer and gVisor's gonet adapter alike; the
// ustack event API has its own drivers in package ustacksys.
//
// Latency is recorded into a Hist, a log-linear histogram with a fixed
// array of counters: recording a sample neither allocates nor takes a lock.
// CPU time is the process's user plus system time from getrusage(2), and
// allocations are runtime.MemStats.Mallocs; both are read around the
// measured window only, after warm-up, and cover both ends of every
// connection (client and server run in the same process for every system).
//
// This package imports only the standard library, so the separate module
// in bench/peers (gVisor) can use it without pulling in ustack.
package bench
