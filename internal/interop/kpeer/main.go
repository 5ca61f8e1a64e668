// Command kpeer is the kernel side of the interop tests in package
// interop: small jobs done with the kernel's own TCP stack, run by the
// tests inside a network namespace with `ip netns exec`.
//
//	kpeer httpd ADDR DIR        serve DIR over HTTP on ADDR (host:port) until killed;
//	                            prints "listening ADDR" once the socket is bound
//	kpeer reset URL BYTES       GET URL, read BYTES of the response, then close
//	                            with SO_LINGER 0 so the kernel sends RST
//	kpeer refused HOST:PORT     exit 0 if connecting is refused (ECONNREFUSED),
//	                            1 with the error otherwise
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "kpeer: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: kpeer httpd ADDR DIR | reset URL BYTES | refused HOST:PORT")
	}
	switch {
	case args[0] == "httpd" && len(args) == 3:
		return httpd(args[1], args[2])
	case args[0] == "reset" && len(args) == 3:
		n, err := strconv.ParseInt(args[2], 10, 64)
		if err != nil {
			return err
		}
		return reset(args[1], n)
	case args[0] == "refused" && len(args) == 2:
		return refused(args[1])
	}
	return fmt.Errorf("bad arguments %q", args)
}

func httpd(addr, dir string) error {
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", ln.Addr())
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

// reset reads part of a response and aborts the connection: close(2)
// with SO_LINGER 0 makes the kernel send RST instead of FIN.
func reset(rawURL string, after int64) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	c, err := net.DialTimeout("tcp4", u.Host, 5*time.Second)
	if err != nil {
		return err
	}
	tc := c.(*net.TCPConn)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", u.RequestURI(), u.Host); err != nil {
		return err
	}
	n, err := io.CopyN(io.Discard, c, after)
	if err != nil {
		return fmt.Errorf("read %d of %d bytes: %w", n, after, err)
	}
	if err := tc.SetLinger(0); err != nil {
		return err
	}
	fmt.Printf("reset after %d bytes\n", n)
	return tc.Close()
}

func refused(addr string) error {
	c, err := net.DialTimeout("tcp4", addr, 5*time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("connected to %s; want connection refused", addr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("want connection refused, got %w", err)
	}
	fmt.Println(err)
	return nil
}
