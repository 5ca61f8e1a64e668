// Command eventecho is an echo server written against ustack's event API:
// its handlers run on the stack's shard goroutine, read received bytes in
// place (Peek hands out a view of the frame buffer they arrived in, no
// copy) and write the echo in the same loop iteration.
//
// It needs no root and no network: a second stack on the other end of an
// in-memory link connects through the ordinary net.Conn API, sends a few
// lines and prints what comes back:
//
//	go run ./examples/eventecho
package main

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net/netip"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link/mem"
)

// echoServer is the Acceptor: every connection gets its own echoConn.
type echoServer struct{}

func (echoServer) Accept(c *ustack.EventConn) ustack.ConnHandler {
	c.SetNoDelay(true)
	return &echoConn{}
}

// echoConn echoes everything it reads. Bytes the send buffer cannot take
// yet wait in pending until Writable.
type echoConn struct{ pending []byte }

func (e *echoConn) Established(c *ustack.EventConn) {}

func (e *echoConn) Readable(c *ustack.EventConn) {
	for {
		if !e.flush(c) {
			return // send buffer full: Writable calls back
		}
		v := c.Peek() // borrowed view into the receive queue
		if len(v) == 0 {
			// Nothing queued: a Read tells whether the peer's FIN is
			// what made the connection readable.
			var one [1]byte
			if _, err := c.Read(one[:]); err == io.EOF {
				c.Close()
			}
			return
		}
		n, _ := c.Write(v)
		if n < len(v) {
			e.pending = append(e.pending, v[n:]...) // copy: v is borrowed
		}
		c.Consume(len(v))
	}
}

// flush writes pending bytes and reports whether all of them went.
func (e *echoConn) flush(c *ustack.EventConn) bool {
	if len(e.pending) > 0 {
		n, _ := c.Write(e.pending)
		e.pending = e.pending[n:]
	}
	return len(e.pending) == 0
}

func (e *echoConn) Writable(c *ustack.EventConn) { e.Readable(c) }

func (e *echoConn) Closed(c *ustack.EventConn, err error) {}

func main() {
	la, lb := mem.Pair()
	server, err := ustack.New(ustack.Config{Link: lb, Addr: netip.MustParsePrefix("10.0.0.2/24")})
	if err != nil {
		log.Fatal(err)
	}
	defer server.Close()
	client, err := ustack.New(ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24")})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ln, err := server.ListenEvents(7, echoServer{})
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()

	conn, err := client.Dial("tcp", "10.0.0.2:7")
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	for _, line := range []string{"hello, ustack", "echoed on the shard", "bye"} {
		if _, err := fmt.Fprintln(conn, line); err != nil {
			log.Fatal(err)
		}
		got, err := r.ReadString('\n')
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print("echo: ", got)
	}
}
