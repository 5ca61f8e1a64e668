package ustack

// SockError exposes the engine-error to socket-error mapping to tests.
var SockError = sockError

// ReadWakes is how many times the shard woke c's readers.
func ReadWakes(c *TCPConn) uint64 { return c.readWakes.Load() }

// SpinSkip and SetSpinSkip read and set how many busy polls s skips
// (borrow.go: after a poll ran out of budget).
func SpinSkip(s *Stack) int32       { return s.spinSkip.Load() }
func SetSpinSkip(s *Stack, n int32) { s.spinSkip.Store(n) }
func SpinBackoff() int32            { return spinBackoff }
