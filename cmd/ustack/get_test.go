package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ustack/ustack/internal/netns"
)

func TestGetFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"get", "--link", "tap:t0", "--addr", "10.1.0.2/24"}, 2, "exactly one URL"},
		{[]string{"get", "--link", "tap:t0", "--addr", "10.1.0.2/24", "http://10.1.0.1/", "http://10.1.0.1/x"}, 2, "exactly one URL"},
		{[]string{"get", "--link", "tap:t0", "--addr", "10.1.0.2/24", "https://10.1.0.1/"}, 2, "only http://"},
		{[]string{"get", "--link", "tap:t0", "--addr", "10.1.0.2/24", "http://example.com/"}, 2, "no DNS resolver"},
		{[]string{"get", "--link", "tap:t0", "--addr", "10.1.0.2/24", "http://[::1]/"}, 2, "IPv4"},
		{[]string{"get", "--link", "tap:t0", "--addr", "10.1.0.2/24", "http://%zz/"}, 2, "URL"},
		{[]string{"get", "--link", "mem", "--addr", "10.1.0.2/24", "http://10.1.0.1/"}, 2, "in-memory demo"},
		{[]string{"get", "--link", "nope", "--addr", "10.1.0.2/24", "http://10.1.0.1/"}, 2, "accepted forms"},
		{[]string{"get", "http://10.1.0.1/"}, 2, "--link SPEC is required"},
		{[]string{"get", "--link", "tap:t0", "--addr", "10.1.0.2/24", "--timeout", "-1s", "http://10.1.0.1/"}, 2, "--timeout"},
		{[]string{"get", "--link", "afpacket:nosuch0", "--addr", "10.1.0.2/24", "http://10.1.0.1/"}, 1, "no such network interface"},
	} {
		code, _, stderr := runQuick(t, tc.args)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args[1:], code, stderr, tc.code, tc.want)
		}
	}
}

// TestGetFromKernel fetches a file from a net/http server on the kernel's
// side of a TAP device, through `ustack get` on the stack's side, and a
// missing file (404: exit 1 after reporting the status).
func TestGetFromKernel(t *testing.T) {
	netns.Require(t)
	ns := netns.New(t).NS()
	ns.IP("tuntap", "add", "dev", "ut0", "mode", "tap")
	ns.IP("addr", "add", "10.94.1.1/24", "dev", "ut0")
	ns.IP("link", "set", "ut0", "up")

	dir := t.TempDir()
	body := make([]byte, 3<<20+17)
	rand.Read(body)
	if err := os.WriteFile(filepath.Join(dir, "blob"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	var ln net.Listener
	if err := ns.Do(func() (err error) { ln, err = net.Listen("tcp4", "10.94.1.1:8088"); return err }); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir))}
	go srv.Serve(ln)
	defer srv.Close()

	out := filepath.Join(dir, "got")
	var code int
	var stdout, stderr syncBuf
	base := []string{"get", "--link", "tap:ut0", "--addr", "10.94.1.2/24", "--timeout", "30s"}
	ns.Do(func() error {
		code = run(append(base, "-o", out, "http://10.94.1.1:8088/blob"), &stdout, &stderr)
		return nil
	})
	if code != 0 {
		t.Fatalf("ustack get: exit %d: %s", code, stderr.String())
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sum {
		t.Fatalf("got %d bytes with another digest, want %d", len(got), len(body))
	}
	if want := "200 OK: 3145745 bytes"; !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), "sha256 "+hex.EncodeToString(sum[:])) {
		t.Errorf("stderr %q; want %q and the digest", stderr.String(), want)
	}
	t.Log(strings.TrimSpace(stderr.String()))

	var stdout2, stderr2 syncBuf
	ns.Do(func() error {
		code = run(append(base, "http://10.94.1.1:8088/missing"), &stdout2, &stderr2)
		return nil
	})
	if code != 1 || !strings.Contains(stderr2.String(), "404 Not Found") || !strings.Contains(stdout2.String(), "404 page not found") {
		t.Errorf("missing file: exit %d, stdout %q, stderr %q; want exit 1, the body and 404 Not Found", code, stdout2.String(), stderr2.String())
	}
}
