package ustack

// SockError exposes the engine-error to socket-error mapping to tests.
var SockError = sockError
