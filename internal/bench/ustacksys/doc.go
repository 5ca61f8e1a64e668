// Package ustacksys adapts ustack to package bench: two stacks joined by
// an in-memory link (link/mem), driven through the event API
// (ustack-event) or through net.Listener and net.Conn (ustack-conn).
package ustacksys
