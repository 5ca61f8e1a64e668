// Package netns is a test helper: it makes throw-away Linux network
// namespaces and veth pairs with ip(8), runs commands in them, and runs Go
// code (opening a TAP device or a packet socket) inside one. Create,
// Delete and Run report errors instead of failing a test, for the
// benchmark's real packet paths.
//
// Every namespace is named "ust-PID-RAND-N" (process id, a random tag per
// Env, a counter), so parallel test binaries never collide, and is deleted
// in t.Cleanup together with everything in it. Nothing is done in the
// test process's own namespace except starting ip(8).
//
// # Entering a namespace from Go
//
// A network namespace belongs to an OS thread, and sockets and devices
// belong to the namespace of the thread that made them, for their whole
// life. Do locks the goroutine to its thread, moves the thread into the
// namespace with setns(2), runs the function, and moves the thread back
// before unlocking it. A descriptor opened inside (an AF_PACKET socket, a
// TAP device) keeps working from any thread afterwards. If moving back
// fails the thread is left locked, so the Go runtime discards it when the
// goroutine ends, instead of reusing a thread in the wrong namespace.
package netns
