package ustack_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link/mem"
	"github.com/ustack/ustack/shard"
)

// The same application code against the kernel and against ustack sees
// the same errors: what makes falling back by configuration safe.
func TestNetworkParity(t *testing.T) {
	a, b := newPair(t, shard.Adaptive)
	for _, tc := range []struct {
		name     string
		srv, cli ustack.Network
		listen   string
		host     string
	}{
		{"ustack", b, a, ":0", "10.0.0.2"},
		{"kernel", ustack.Kernel{}, ustack.Kernel{}, "127.0.0.1:0", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) { testNetworkParity(t, tc.srv, tc.cli, tc.listen, tc.host) })
	}
}

func testNetworkParity(t *testing.T, srv, cli ustack.Network, listen, host string) {
	ctx := context.Background()
	ln, err := srv.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort(host, portOf(ln.Addr()))

	// Listening again on the same port.
	if _, err := srv.Listen("tcp", net.JoinHostPort(host, portOf(ln.Addr()))); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("second Listen: %v; want EADDRINUSE", err)
	}
	// A malformed address.
	var ae *net.AddrError
	if _, err := cli.DialContext(ctx, "tcp", host+":http-alt-x"); err == nil || !errors.As(err, &ae) && !isDNSError(err) {
		t.Errorf("malformed dial address: %v", err)
	}

	// A connection: data, half close, EOF, deadlines, close.
	acc := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		acc <- c
	}()
	c, err := cli.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := <-acc
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	c.(interface{ CloseWrite() error }).CloseWrite()
	got, err := io.ReadAll(s)
	if err != nil || string(got) != "hello" {
		t.Fatalf("server read %q, %v", got, err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("write after CloseWrite: %v; want EPIPE", err)
	}
	s.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := s.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) && err != io.EOF {
		t.Errorf("read with a past deadline: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read past its deadline: %v", err)
	}
	c.Close()
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after Close: %v", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	s.Close()

	// Refused: nobody listens any more.
	ln.Close()
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v", err)
	}
	_, err = cli.DialContext(ctx, "tcp", addr)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial to a closed port: %v; want ECONNREFUSED", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "dial" {
		t.Errorf("dial error %#v is not an OpError with Op dial", err)
	}

	// Datagrams through the same interface.
	pc, err := srv.ListenPacket("udp", listen)
	if err != nil {
		t.Fatal(err)
	}
	pc.Close()
}

func isDNSError(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de)
}

// A server and a client on two stacks joined by an in-memory link, with
// nothing but the net.Listener / net.Conn API.
func ExampleStack_Listen() {
	la, lb := mem.Pair()
	server, _ := ustack.New(ustack.Config{Link: lb, Addr: netip.MustParsePrefix("10.0.0.2/24")})
	defer server.Close()
	client, _ := ustack.New(ustack.Config{Link: la, Addr: netip.MustParsePrefix("10.0.0.1/24")})
	defer client.Close()

	ln, err := server.Listen("tcp", ":7")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c) // echo until the client half-closes
		c.Close()
	}()

	c, err := client.Dial("tcp", "10.0.0.2:7")
	if err != nil {
		panic(err)
	}
	defer c.Close()
	c.Write([]byte("hello over ustack"))
	c.(*ustack.TCPConn).CloseWrite()
	reply, _ := io.ReadAll(c)
	fmt.Println(string(reply))
	// Output: hello over ustack
}
