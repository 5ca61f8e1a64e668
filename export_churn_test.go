package ustack

// CachedConns is how many released Conns wait in s's cache for reuse
// (shard goroutine, or a Manual stack between Steps).
func CachedConns(s *Stack) int { return s.tcp.cfg.Cache.Conns() }
