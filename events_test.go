package ustack_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/shard"
)

// echoServer echoes every byte back, straight from the borrowed view.
type echoServer struct{}

func (echoServer) Accept(c *ustack.EventConn) ustack.ConnHandler { return &echoConn{} }

type echoConn struct{ pending []byte }

func (e *echoConn) Established(c *ustack.EventConn) {}
func (e *echoConn) Readable(c *ustack.EventConn) {
	for {
		if len(e.pending) > 0 {
			n, _ := c.Write(e.pending)
			e.pending = e.pending[n:]
			if len(e.pending) > 0 {
				return // wait for Writable
			}
		}
		v := c.Peek()
		if len(v) == 0 {
			// Nothing buffered: a Read reports whether the peer's FIN
			// is what made us readable.
			var one [1]byte
			if _, err := c.Read(one[:]); err == io.EOF {
				c.Close()
			}
			return
		}
		n, _ := c.Write(v)
		if n < len(v) {
			e.pending = append(e.pending[:0], v[n:]...)
		}
		c.Consume(len(v))
	}
}
func (e *echoConn) Writable(c *ustack.EventConn)          { e.Readable(c) }
func (e *echoConn) Closed(c *ustack.EventConn, err error) {}

// client sends data, reads everything back, then closes.
type client struct {
	data   []byte
	sent   int
	got    bytes.Buffer
	done   chan error
	gotEOF bool
	estab  bool
	buf    [4096]byte
}

func (k *client) Established(c *ustack.EventConn) { k.estab = true; k.Writable(c) }
func (k *client) Writable(c *ustack.EventConn) {
	for k.sent < len(k.data) {
		n, err := c.Write(k.data[k.sent:])
		k.sent += n
		if err != nil || n == 0 {
			return
		}
	}
	c.CloseWrite()
}
func (k *client) Readable(c *ustack.EventConn) {
	for {
		n, err := c.Read(k.buf[:])
		k.got.Write(k.buf[:n])
		if err == io.EOF {
			k.gotEOF = true
			c.Close()
			return
		}
		if n == 0 || err != nil {
			return
		}
	}
}
func (k *client) Closed(c *ustack.EventConn, err error) {
	if err == nil && !k.gotEOF {
		err = errors.New("closed before EOF")
	}
	k.done <- err
}

func TestEventEchoOverMem(t *testing.T) {
	for _, mode := range []shard.Mode{shard.Adaptive, shard.Interrupt} {
		t.Run(mode.String(), func(t *testing.T) {
			a, b := newPair(t, mode)
			if _, err := b.ListenEvents(7, echoServer{}); err != nil {
				t.Fatal(err)
			}
			data := make([]byte, 1<<20)
			for i := range data {
				data[i] = byte(i*7 + i>>9)
			}
			k := &client{data: data, done: make(chan error, 1)}
			if _, err := a.DialEvents(netip.MustParseAddrPort("10.0.0.2:7"), k); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-k.done:
				if err != nil {
					t.Fatalf("client closed with %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("echo of 1 MiB did not finish in 30 s")
			}
			var got []byte
			a.Exec(context.Background(), func() { got = k.got.Bytes() })
			if sha256.Sum256(got) != sha256.Sum256(data) || len(got) != len(data) {
				t.Fatalf("echoed %d bytes, want %d identical bytes", len(got), len(data))
			}
		})
	}
}

type refused struct{ done chan error }

func (r *refused) Established(*ustack.EventConn)       {}
func (r *refused) Readable(*ustack.EventConn)          {}
func (r *refused) Writable(*ustack.EventConn)          {}
func (r *refused) Closed(_ *ustack.EventConn, e error) { r.done <- e }

func TestEventDialClosedPortIsRefused(t *testing.T) {
	a, _ := newPair(t, shard.Adaptive)
	r := &refused{done: make(chan error, 1)}
	if _, err := a.DialEvents(netip.MustParseAddrPort("10.0.0.2:9"), r); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-r.done:
		if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, errRefusedTCP()) {
			t.Fatalf("dial to closed port ended with %v, want connection refused", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to a SYN for a closed port")
	}
}

// relay, on accepting a connection, dials a second one from inside the
// handler (on the shard) and reports what that connection did.
type relay struct {
	target netip.AddrPort
	result chan error
}

func (r *relay) Accept(c *ustack.EventConn) ustack.ConnHandler {
	k := &client{data: []byte("through the relay"), done: r.result}
	if _, err := c.DialEvents(r.target, k); err != nil {
		r.result <- err
	}
	return &echoConn{}
}

// Dialing from inside a handler must not deadlock (it runs on the shard).
func TestEventDialFromHandler(t *testing.T) {
	a, b := newPair(t, shard.Adaptive)
	if _, err := b.ListenEvents(7, echoServer{}); err != nil {
		t.Fatal(err)
	}
	r := &relay{target: netip.MustParseAddrPort("10.0.0.2:7"), result: make(chan error, 1)}
	if _, err := a.ListenEvents(8, r); err != nil {
		t.Fatal(err)
	}
	// Something connects to a's relay port: a's own stack, from b.
	trigger := &refused{done: make(chan error, 1)}
	if _, err := b.DialEvents(netip.MustParseAddrPort("10.0.0.1:8"), trigger); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-r.result:
		if err != nil {
			t.Fatalf("connection dialed from the handler ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("dial from a handler did not complete (deadlock?)")
	}
}
