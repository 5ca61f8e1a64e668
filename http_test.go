package ustack_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/shard"
)

// countingListener counts accepted connections, to check keep-alive.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// httpBody is request i's body: size bytes that differ between requests.
func httpBody(i, size int) []byte {
	b := make([]byte, size)
	for j := range b {
		b[j] = byte(i*31 + j*7 + j>>8)
	}
	return b
}

// httpSizes is the spread of body sizes; every 100th request is 1 MiB
// and the 500th 16 MiB (smaller with -short or -race).
var httpSizes = []int{0, 1, 100, 1460, 1461, 4096, 64 << 10, 100_000}

// TestHTTP runs net/http, unchanged, over each Network: an http.Server
// on a listener of the server's Network and an http.Client whose
// Transport dials through the client's. 1000 POSTs with keep-alive from 4
// clients, bodies from 0 bytes to 16 MiB (2 MiB with -short or -race),
// each echoed and checked byte for byte.
func TestHTTP(t *testing.T) {
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
		t.Run(tc.name, func(t *testing.T) {
			testHTTP(t, tc.srv, tc.cli, tc.listen, tc.host)
		})
	}
}

func testHTTP(t *testing.T, srvNet, cliNet ustack.Network, listen, host string) {
	inner, err := srvNet.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	ln := &countingListener{Listener: inner}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	tr := &http.Transport{DialContext: cliNet.DialContext, MaxIdleConnsPerHost: 8, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	url := "http://" + net.JoinHostPort(host, portOf(ln.Addr())) + "/echo"

	const requests, workers = 1000, 4
	big, biggest := 1<<20, 16<<20
	if testing.Short() || raceEnabled {
		big, biggest = 256<<10, 2<<20
	}
	var wg sync.WaitGroup
	var failed atomic.Bool
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < requests && !failed.Load(); i += workers {
				size := httpSizes[i%len(httpSizes)]
				switch {
				case i == requests/2:
					size = biggest
				case i%100 == 99:
					size = big
				}
				if err := httpRoundTrip(client, url, i, size); err != nil {
					failed.Store(true)
					t.Errorf("request %d (%d bytes): %v", i, size, err)
				}
			}
		}()
	}
	wg.Wait()
	if n := ln.n.Load(); n > 2*workers {
		t.Errorf("%d requests took %d connections; keep-alive should reuse at most %d", requests, n, 2*workers)
	}
}

func httpRoundTrip(client *http.Client, url string, i, size int) error {
	body := httpBody(i, size)
	resp, err := client.Post(url, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading the response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s: %s", resp.Status, got)
	}
	if !bytes.Equal(got, body) {
		return fmt.Errorf("echo differs: got %d bytes, want %d", len(got), len(body))
	}
	return nil
}
