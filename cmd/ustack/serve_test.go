package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ustack/ustack/internal/netns"
)

// runQuick runs the command and fails t if it takes more than 10 s: the
// errors tested here must come at once.
func runQuick(t *testing.T, args []string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(args, &out, &errb) }()
	select {
	case code = <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%v did not return within 10s", args)
	}
	return code, out.String(), errb.String()
}

func TestServeFlagErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "http"}, "--link SPEC is required"},
		{[]string{"serve", "--link", "bogus:x", "--addr", "10.1.0.2/24", "http"}, "accepted forms"},
		{[]string{"serve", "--link", "tap:", "--addr", "10.1.0.2/24", "echo"}, "needs an interface name"},
		{[]string{"serve", "--link", "mem", "--addr", "10.1.0.2/24", "echo"}, "try ustack bench or ustack ping for the in-memory demo"},
		{[]string{"serve", "--link", "tap:t0", "echo"}, "needs --addr CIDR"},
		{[]string{"serve", "--link", "tap:t0", "--addr", "10.1.0.2", "echo"}, "prefix length"},
		{[]string{"serve", "--link", "tap:t0", "--addr", "10.1.0.2/24", "--gw", "10.2.0.1", "echo"}, "not inside"},
		{[]string{"serve", "--link", "tap:t0", "--addr", "10.1.0.2/24"}, "exactly one of echo, discard or http"},
		{[]string{"serve", "--link", "tap:t0", "--addr", "10.1.0.2/24", "echo", "http"}, "exactly one"},
		{[]string{"serve", "--link", "tap:t0", "--addr", "10.1.0.2/24", "chargen"}, "unknown server"},
		{[]string{"serve", "--link", "tap:t0", "--addr", "10.1.0.2/24", "--port", "70000", "echo"}, "--port 70000"},
		{[]string{"serve", "--link", "tap:t0", "--addr", "10.1.0.2/24", "http", "--dir", filepath.Join(dir, "none")}, "--dir"},
		{[]string{"serve", "--link", "tap:t0", "--addr", "10.1.0.2/24", "http", "--dir", file}, "not a directory"},
		{[]string{"serve", "--link", "tap:t0", "--addr", "10.1.0.2/24", "--impair", "delay=fast", "echo"}, "--impair"},
		{[]string{"serve", "--link", "tap:t0", "--addr", "10.1.0.2/24", "--polling", "lazy", "echo"}, "lazy"},
		{[]string{"serve", "--nosuchflag", "echo"}, "flag provided but not defined"},
	} {
		code, _, stderr := runQuick(t, tc.args)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args[1:], code, stderr, tc.want)
		}
		if strings.Contains(stderr, "panic") {
			t.Errorf("%v panicked: %s", tc.args[1:], stderr)
		}
	}
}

func TestServeHelp(t *testing.T) {
	code, _, stderr := runQuick(t, []string{"serve", "-h"})
	if code != 0 || !strings.Contains(stderr, "echo|discard|http") || !strings.Contains(stderr, "PUT or POST") {
		t.Fatalf("exit %d, help:\n%s", code, stderr)
	}
}

// TestServeLinkErrors: a device that does not exist, and a device opened
// without the privileges, fail at once with one line saying what to do.
func TestServeLinkErrors(t *testing.T) {
	for _, tc := range []struct {
		link, want string
	}{
		{"afpacket:nosuch0", "no such network interface"},
		{"afxdp:nosuch0", "no such network interface"},
	} {
		code, _, stderr := runQuick(t, []string{"serve", "--link", tc.link, "--addr", "10.1.0.2/24", "echo"})
		if code != 1 || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("serve --link %s: exit %d, stderr %q; want exit 1 and one line with %q", tc.link, code, stderr, tc.want)
		}
	}
	t.Run("unprivileged", func(t *testing.T) {
		netns.Require(t)
		e := netns.New(t)
		ns := e.NS()
		ns.IP("link", "add", "v0", "type", "veth", "peer", "name", "v1")
		for _, tc := range []struct{ link, want string }{
			{"tap:ut9", "CAP_NET_ADMIN"}, // creating a TAP device
			{"afpacket:v0", "CAP_NET_RAW"},
		} {
			var code int
			var out, errb syncBuf
			done := make(chan error, 1)
			go func() {
				done <- ns.DoWithoutNetCaps(func() error {
					code = run([]string{"serve", "--link", tc.link, "--addr", "10.1.0.2/24", "echo"}, &out, &errb)
					return nil
				})
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("unprivileged serve --link %s did not fail at once; output %q %q", tc.link, out.String(), errb.String())
			}
			if code != 1 || !strings.Contains(errb.String(), tc.want) || strings.Count(errb.String(), "\n") != 1 {
				t.Errorf("unprivileged serve --link %s: exit %d, stderr %q; want exit 1 and one line naming %s", tc.link, code, errb.String(), tc.want)
			}
		}
	})
}

// TestServeEchoDiscard runs the echo and discard servers (event API) on a
// TAP device and talks to them from the kernel in the same namespace.
func TestServeEchoDiscard(t *testing.T) {
	netns.Require(t)
	ns := netns.New(t).NS()
	ns.IP("tuntap", "add", "dev", "ut0", "mode", "tap")
	ns.IP("addr", "add", "10.94.0.1/24", "dev", "ut0")
	ns.IP("link", "set", "ut0", "up")

	for _, kind := range []string{"echo", "discard"} {
		t.Run(kind, func(t *testing.T) {
			sc, err := parseServe([]string{"--link", "tap:ut0", "--addr", "10.94.0.2/24", "--port", "7007", kind}, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out, errb syncBuf
			served := make(chan error, 1)
			go func() {
				// The link is opened inside the namespace; the stack keeps
				// working from any thread afterwards, but serve is simplest
				// left on the namespaced thread until it returns.
				served <- ns.Do(func() error { return serve(ctx, sc, &out, &errb) })
			}()
			c := dialIn(t, ns, "10.94.0.2:7007")
			defer c.Close()
			msg := make([]byte, 4<<20)
			rand.Read(msg)
			var wg sync.WaitGroup
			var got []byte
			var rerr error
			start := time.Now()
			wg.Go(func() { got, rerr = io.ReadAll(c) })
			if _, err := c.Write(msg); err != nil {
				t.Fatalf("write: %v", err)
			}
			wrote := time.Since(start)
			c.(*net.TCPConn).CloseWrite()
			wg.Wait()
			t.Logf("%s: wrote 4 MiB in %v, the server's FIN after %v", kind, wrote.Round(time.Microsecond), time.Since(start).Round(time.Microsecond))
			if rerr != nil {
				t.Fatalf("read: %v", rerr)
			}
			want := msg
			if kind == "discard" {
				want = nil
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s answered %d bytes, want %d (equal: %v)", kind, len(got), len(want), bytes.Equal(got, want))
			}
			// A client that aborts (SO_LINGER 0: the kernel sends RST) is
			// reported by the server.
			rc := dialIn(t, ns, "10.94.0.2:7007")
			rc.Write([]byte("hello"))
			rc.(*net.TCPConn).SetLinger(0)
			rc.Close()
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(errb.String(), ": connection reset by peer") && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			select {
			case err := <-served:
				if err != nil {
					t.Fatalf("serve: %v\n%s", err, errb.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("serve did not return after its context ended")
			}
			if !strings.Contains(out.String(), kind+" on 10.94.0.2:7007 over tap:ut0") {
				t.Errorf("start line: %q", out.String())
			}
			if !strings.Contains(errb.String(), ": connection reset by peer") || !strings.Contains(errb.String(), "stats conns=0 ") ||
				!strings.Contains(errb.String(), " resets_seen=1 ") {
				t.Errorf("stderr %q; want the reset reported, and a closing stats line with no connections and one reset", errb.String())
			}
		})
	}
}

// dialIn connects from the kernel inside ns, retrying while the server
// starts (connection refused until it listens).
func dialIn(t *testing.T, ns *netns.NS, addr string) net.Conn {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var c net.Conn
		err := ns.Do(func() (err error) {
			c, err = net.DialTimeout("tcp4", addr, time.Second)
			return err
		})
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// syncBuf is a bytes.Buffer safe for one writer and one reader.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
