package ustack_test

import (
	"net"
	"testing"

	"golang.org/x/net/nettest"

	"github.com/ustack/ustack/shard"
)

// The net.Conn contract, as golang.org/x/net/nettest checks it, for pairs
// whose two ends are both ustack connections over link/mem.
func TestNettestConn(t *testing.T) {
	a, b := newPair(t, shard.Adaptive)
	ln, err := b.ListenTCP("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := "10.0.0.2:" + portOf(ln.Addr())
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		type res struct {
			c   net.Conn
			err error
		}
		ch := make(chan res, 1)
		go func() {
			c, err := ln.Accept()
			ch <- res{c, err}
		}()
		c1, err = a.Dial("tcp", addr)
		if err != nil {
			return nil, nil, nil, err
		}
		r := <-ch
		if r.err != nil {
			c1.Close()
			return nil, nil, nil, r.err
		}
		c2 = r.c
		stop = func() {
			c1.Close()
			c2.Close()
		}
		return c1, c2, stop, nil
	})
}
