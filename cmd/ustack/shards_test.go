package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ustack/ustack/internal/netns"
)

func TestShardsFlagErrors(t *testing.T) {
	base := []string{"--link", "tap:t0", "--addr", "10.1.0.2/24"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--shards", "0"}, "--shards 0 is not in [1, 256]"},
		{[]string{"--shards", "257"}, "--shards 257 is not in [1, 256]"},
		{[]string{"--shards", "-1"}, "--shards -1"},
		{[]string{"--shards", "two"}, "invalid value"},
		{[]string{"--shards", "2", "--capture", "x.pcapng"}, "cannot be combined with --capture or --impair"},
		{[]string{"--shards", "2", "--impair", "delay=1ms"}, "use --shards 1 to capture or impair"},
	} {
		for _, cmd := range [][]string{{"serve", "echo"}, {"get", "http://10.1.0.1/"}} {
			args := append(append(append([]string{cmd[0]}, base...), tc.args...), cmd[1])
			code, _, stderr := runQuick(t, args)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", args, code, stderr, tc.want)
			}
		}
	}
	// mem is refused before the shard count matters.
	code, _, stderr := runQuick(t, []string{"serve", "--link", "mem", "--addr", "10.1.0.2/24", "--shards", "2", "echo"})
	if code != 2 || !strings.Contains(stderr, "in-memory demo") {
		t.Errorf("serve --link mem --shards 2: exit %d, stderr %q", code, stderr)
	}
}

// A TAP device made without multi_queue cannot carry two shards: serve
// fails at once with one line saying how to make one that can.
func TestServeShardsSingleQueueTAP(t *testing.T) {
	netns.Require(t)
	ns := netns.New(t).NS()
	ns.IP("tuntap", "add", "dev", "ut0", "mode", "tap")
	var code int
	var out, errb syncBuf
	ns.Do(func() error {
		code = run([]string{"serve", "--link", "tap:ut0", "--addr", "10.94.2.2/24", "--shards", "2", "echo"}, &out, &errb)
		return nil
	})
	if code != 1 || !strings.Contains(errb.String(), "multi_queue") || strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want exit 1 and one line with the multi_queue hint", code, errb.String())
	}
}

var queueRxRE = regexp.MustCompile(`q(\d+)_rx=(\d+)`)

// TestServeShardsTAP runs the echo server with two shards on a
// multi-queue TAP device; 64 kernel connections at once each echo a
// message. Both queues receive frames, the start line names the shard
// count and the closing stats line carries the shard counters.
func TestServeShardsTAP(t *testing.T) {
	netns.Require(t)
	ns := netns.New(t).NS()
	ns.IP("tuntap", "add", "dev", "ut0", "mode", "tap", "multi_queue")
	ns.IP("addr", "add", "10.94.3.1/24", "dev", "ut0")
	ns.IP("link", "set", "ut0", "up")

	sc, err := parseServe([]string{"--link", "tap:ut0", "--addr", "10.94.3.2/24", "--port", "7007", "--shards", "2", "echo"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuf
	served := make(chan error, 1)
	go func() { served <- ns.Do(func() error { return serve(ctx, sc, &out, &errb) }) }()
	dialIn(t, ns, "10.94.3.2:7007").Close()

	const conns = 64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Go(func() {
			c := dialIn(t, ns, "10.94.3.2:7007")
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			msg := bytes.Repeat([]byte{byte(i)}, 10000+i)
			if _, err := c.Write(msg); err != nil {
				errs <- err
				return
			}
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
				errs <- fmt.Errorf("connection %d: echo %v (equal %v)", i, err, bytes.Equal(got, msg))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
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
	if !strings.Contains(out.String(), "echo on 10.94.3.2:7007 over tap:ut0 with 2 shards") {
		t.Errorf("start line %q; want the shard count", out.String())
	}
	stats := errb.String()
	if !strings.Contains(stats, " shards=2 handoffs=") || !strings.Contains(stats, " handoff_drops=0 ") {
		t.Errorf("stats %q; want the shard count, handoffs and no handoff drops", stats)
	}
	rx := map[string]int{}
	for _, m := range queueRxRE.FindAllStringSubmatch(stats, -1) {
		rx[m[1]], _ = strconv.Atoi(m[2])
	}
	if len(rx) != 2 || rx["0"] == 0 || rx["1"] == 0 {
		t.Errorf("frames received per queue %v; want both queues busy (stats %q)", rx, stats)
	}
	t.Logf("%s", strings.TrimSpace(stats))
}

// TestGetShards: `ustack get --shards 2` over a multi-queue TAP device
// fetches intact from a Go HTTP server on the kernel's side (the dial
// runs on one shard, whose source port makes the replies hash to it).
func TestGetShards(t *testing.T) {
	netns.Require(t)
	ns := netns.New(t).NS()
	ns.IP("tuntap", "add", "dev", "ut0", "mode", "tap", "multi_queue")
	ns.IP("addr", "add", "10.94.4.1/24", "dev", "ut0")
	ns.IP("link", "set", "ut0", "up")
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16+3)
	var ln net.Listener
	if err := ns.Do(func() (err error) { ln, err = net.Listen("tcp4", "10.94.4.1:8088"); return err }); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(body) })}
	go srv.Serve(ln)
	defer srv.Close()
	sum := sha256.Sum256(body)
	for range 3 {
		var code int
		var stdout, stderr syncBuf
		ns.Do(func() error {
			code = run([]string{"get", "--link", "tap:ut0", "--addr", "10.94.4.2/24", "--shards", "2", "--timeout", "30s", "http://10.94.4.1:8088/"}, &stdout, &stderr)
			return nil
		})
		if code != 0 || !strings.Contains(stderr.String(), "sha256 "+hex.EncodeToString(sum[:])) || stdout.String() != string(body) {
			t.Fatalf("ustack get --shards 2: exit %d, %d bytes, stderr %q", code, len(stdout.String()), stderr.String())
		}
	}
}
