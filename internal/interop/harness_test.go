package interop

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ustack/ustack/internal/netns"
)

// bins are the binaries TestMain builds (only when running as root).
var bins struct {
	dir, ustack, kpeer string
	err                error
}

func TestMain(m *testing.M) {
	os.Exit(func() int {
		if os.Geteuid() == 0 {
			dir, err := os.MkdirTemp("", "ustack-interop-")
			if err != nil {
				bins.err = err
			} else {
				defer os.RemoveAll(dir)
				bins.dir = dir
				bins.ustack = filepath.Join(dir, "ustack")
				bins.kpeer = filepath.Join(dir, "kpeer")
				start := time.Now()
				bins.err = goBuild(bins.ustack, "github.com/ustack/ustack/cmd/ustack")
				if bins.err == nil {
					bins.err = goBuild(bins.kpeer, "github.com/ustack/ustack/internal/interop/kpeer")
				}
				fmt.Fprintf(os.Stderr, "interop: built ustack and kpeer in %v\n", time.Since(start).Round(time.Millisecond))
			}
		}
		return m.Run()
	}())
}

func goBuild(out, pkg string) error {
	b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// require skips (or, with CI=true, fails) without root and the tools.
func require(t *testing.T, tools ...string) {
	t.Helper()
	netns.Require(t, append([]string{"curl", "ethtool", "ping", "sha256sum", "bash"}, tools...)...)
	if bins.err != nil {
		t.Fatalf("building the binaries: %v", bins.err)
	}
}

// big reports whether USTACK_INTEROP_BIG asks for the full-size runs.
func big() bool { return os.Getenv("USTACK_INTEROP_BIG") == "1" }

const (
	mib = 1 << 20
	gib = 1 << 30
)

// path is one real packet path between ustack and the kernel: the stack's
// namespace and link spec, and the kernel's namespace, device and address.
// For TAP both are one namespace (the kernel owns the device's other end).
type path struct {
	kind        string
	stack, kern *netns.NS
	spec        string
	kernDev     string
	stackCIDR   string // the stack's address/prefix
	stackIP     string
	kernIP      string
}

var subnet struct {
	sync.Mutex
	n int
}

// newPath builds the namespaces and devices for kind (tap, afpacket,
// afxdp), each call on a subnet of its own.
func newPath(t *testing.T, kind string) *path {
	t.Helper()
	subnet.Lock()
	subnet.n++
	n := subnet.n
	subnet.Unlock()
	e := netns.New(t)
	p := &path{
		kind:      kind,
		stackIP:   fmt.Sprintf("10.93.%d.2", n),
		kernIP:    fmt.Sprintf("10.93.%d.1", n),
		stackCIDR: fmt.Sprintf("10.93.%d.2/24", n),
	}
	switch kind {
	case "tap":
		ns := e.NS()
		p.stack, p.kern, p.kernDev, p.spec = ns, ns, "ut0", "tap:ut0"
		ns.IP("tuntap", "add", "dev", "ut0", "mode", "tap")
		ns.IP("addr", "add", p.kernIP+"/24", "dev", "ut0")
		ns.IP("link", "set", "ut0", "up")
	case "afpacket", "afxdp":
		p.stack, p.kern = e.NS(), e.NS()
		p.kernDev, p.spec = "k0", kind+":u0"
		e.Veth(p.stack, "u0", p.kern, "k0")
		p.kern.IP("addr", "add", p.kernIP+"/24", "dev", "k0")
		// The kernel's veth end would otherwise hand the stack TSO/GSO
		// super-frames (up to 64 KiB: too big for an AF_PACKET ring slot
		// or an AF_XDP frame). AF_XDP also receives the kernel's frames
		// without finishing CHECKSUM_PARTIAL, so the kernel must checksum
		// in software there.
		off := []string{"-K", "k0", "tso", "off", "gso", "off"}
		if kind == "afxdp" {
			off = append(off, "tx", "off")
		}
		p.kernCmd(t, 10*time.Second, "ethtool", off...)
	default:
		t.Fatalf("unknown path %q", kind)
	}
	return p
}

// kernCmd runs a command in the kernel's namespace and returns its output,
// failing t if it fails.
func (p *path) kernCmd(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	out, err := p.kern.Command(timeout, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s (kernel side): %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// kernSh runs a bash script (with pipefail) in the kernel's namespace.
func (p *path) kernSh(t *testing.T, timeout time.Duration, script string) string {
	t.Helper()
	return p.kernCmd(t, timeout, "bash", "-o", "pipefail", "-c", script)
}

// lossOnKernelSide adds an nftables rule in the kernel's namespace that
// drops 1% of the frames leaving its device towards the stack (netdev
// family, egress hook).
func (p *path) lossOnKernelSide(t *testing.T) {
	t.Helper()
	p.kernCmd(t, 10*time.Second, "nft", "add", "table", "netdev", "uloss")
	p.kernCmd(t, 10*time.Second, "nft", "add", "chain", "netdev", "uloss", "egress",
		fmt.Sprintf("{ type filter hook egress device %s priority 0; }", p.kernDev))
	p.kernCmd(t, 10*time.Second, "nft", "add", "rule", "netdev", "uloss", "egress",
		"numgen", "random", "mod", "100", "==", "0", "counter", "drop")
}

// lossDropped reads the loss rule's packet counter.
func (p *path) lossDropped(t *testing.T) int {
	t.Helper()
	out := p.kernCmd(t, 10*time.Second, "nft", "list", "chain", "netdev", "uloss", "egress")
	m := regexp.MustCompile(`counter packets (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no counter in the loss rule:\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// server is a running `ustack serve` in the stack's namespace.
type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	done chan struct{}
	err  error

	mu     sync.Mutex
	out    strings.Builder // stdout and stderr, interleaved
	stats  map[string]int  // the last stats line
	resets int             // "connection reset by peer" lines
	seen   chan struct{}   // poked on every line
}

var statsRE = regexp.MustCompile(`(\w+)=(\d+)`)

// serve starts `ustack serve --link ... --addr ... --stats 100ms ARGS` and
// waits for its start line.
func (p *path) serve(t *testing.T, args ...string) *server {
	t.Helper()
	all := append([]string{"serve", "--link", p.spec, "--addr", p.stackCIDR, "--stats", "100ms"}, args...)
	s := &server{t: t, done: make(chan struct{}), seen: make(chan struct{}, 1)}
	s.cmd = p.stack.Command(10*time.Minute, bins.ustack, all...)
	r, w := io.Pipe()
	s.cmd.Stdout, s.cmd.Stderr = w, w
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting ustack serve: %v", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		w.Close()
	}()
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			if strings.HasPrefix(line, "ustack serve: stats ") {
				s.stats = map[string]int{}
				for _, m := range statsRE.FindAllStringSubmatch(line, -1) {
					s.stats[m[1]], _ = strconv.Atoi(m[2])
				}
			} else {
				s.out.WriteString(line + "\n")
				if strings.HasSuffix(line, ": connection reset by peer") {
					s.resets++
				}
			}
			s.mu.Unlock()
			select {
			case s.seen <- struct{}{}:
			default:
			}
		}
		io.Copy(io.Discard, r)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			s.cmd.Process.Kill()
			<-s.done
		}
	})
	if !s.waitFor(15*time.Second, func() bool { return strings.Contains(s.out.String(), " over "+p.spec) }) {
		t.Fatalf("ustack serve %v did not start:\n%s", all, s.output())
	}
	t.Logf("%s", strings.TrimSpace(s.output()))
	return s
}

// waitFor polls cond (called with s.mu held) until it holds, the server
// exits or the timeout passes.
func (s *server) waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok := cond()
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-s.seen:
		case <-s.done:
			s.mu.Lock()
			ok := cond()
			s.mu.Unlock()
			return ok
		case <-deadline.C:
			return false
		}
	}
}

func (s *server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// stat returns a field of the last stats line.
func (s *server) stat(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats[name]
}

// stop sends SIGINT and requires a clean exit within 10 s.
func (s *server) stop() { s.t.Helper(); s.stopWith(os.Interrupt) }

// stopWith sends sig and requires a clean exit within 10 s.
func (s *server) stopWith(sig os.Signal) {
	s.t.Helper()
	start := time.Now()
	s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		s.t.Fatalf("ustack serve did not stop within 10s of %v:\n%s", sig, s.output())
	}
	if s.err != nil {
		s.t.Fatalf("ustack serve exited with %v after %v:\n%s", s.err, sig, s.output())
	}
	s.mu.Lock()
	st := s.stats
	s.mu.Unlock()
	s.t.Logf("ustack serve stopped cleanly on %v in %v; last stats %v", sig, time.Since(start).Round(time.Millisecond), st)
}

// dataFile is a generated file and its digest.
type dataFile struct {
	name, path string
	size       int64
	sha        string
}

var (
	dataMu  sync.Mutex
	dataDir string
	files   = map[int64]*dataFile{}
)

// data returns a file of size bytes in a directory shared by the tests of
// this run (made once per size): 1 MiB blocks of seeded random bytes,
// each block stamped with its index so that a misplaced block changes the
// digest. The SHA-256 is computed while writing.
func data(t *testing.T, size int64) *dataFile {
	t.Helper()
	dataMu.Lock()
	defer dataMu.Unlock()
	if f := files[size]; f != nil {
		return f
	}
	if dataDir == "" {
		dataDir = filepath.Join(bins.dir, "www")
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	f := &dataFile{name: fmt.Sprintf("data-%d", size), size: size}
	f.path = filepath.Join(dataDir, f.name)
	out, err := os.Create(f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	block := make([]byte, mib)
	r := rand.NewPCG(uint64(size), 7)
	for i := 0; i < len(block); i += 8 {
		binary.LittleEndian.PutUint64(block[i:], r.Uint64())
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(out, h), 4*mib)
	for off, i := int64(0), uint64(0); off < size; off, i = off+mib, i+1 {
		binary.BigEndian.PutUint64(block, i)
		n := min(int64(len(block)), size-off)
		if _, err := bw.Write(block[:n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	f.sha = hex.EncodeToString(h.Sum(nil))
	files[size] = f
	t.Logf("generated %s (%d MiB) in %v", f.name, size/mib, time.Since(start).Round(time.Millisecond))
	return f
}

// sha256Of hashes a file.
func sha256Of(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// rate formats bytes moved in d.
func rate(n int64, d time.Duration) string {
	return fmt.Sprintf("%d MiB in %v (%.0f Mbit/s)", n/mib, d.Round(time.Millisecond), float64(n)*8/d.Seconds()/1e6)
}
