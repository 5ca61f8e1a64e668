package ustack

// SockError exposes the engine-error to socket-error mapping to tests.
var SockError = sockError

// ReadWakes is how many times the shard woke c's readers.
func ReadWakes(c *TCPConn) uint64 { return c.readWakes.Load() }
