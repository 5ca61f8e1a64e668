package netns

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Require skips t unless the test runs as root with ip(8) available and
// namespaces work; with CI=true it fails instead of skipping.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	why := ""
	switch {
	case os.Geteuid() != 0:
		why = "needs root (network namespaces, veth, TAP and packet sockets)"
	default:
		for _, tool := range append([]string{"ip"}, tools...) {
			if _, err := exec.LookPath(tool); err != nil {
				why = fmt.Sprintf("needs %s in PATH (scripts/install-deps.sh installs it)", tool)
				break
			}
		}
	}
	if why == "" {
		if _, err := os.Stat("/proc/self/ns/net"); err != nil {
			why = "needs network namespace support (/proc/self/ns/net)"
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: %s", why)
	}
	t.Skip(why)
}

// Env makes namespaces for one test.
type Env struct {
	t      testing.TB
	prefix string
	n      int
}

// New returns an Env whose namespaces are removed when t ends.
func New(t testing.TB) *Env {
	t.Helper()
	var tag [3]byte
	if _, err := rand.Read(tag[:]); err != nil {
		t.Fatalf("netns: random tag: %v", err)
	}
	return &Env{t: t, prefix: fmt.Sprintf("ust-%d-%s", os.Getpid(), hex.EncodeToString(tag[:]))}
}

// NS is one named network namespace.
type NS struct {
	Name string
	t    testing.TB
}

// NS creates a namespace with its loopback up and IPv6 off (so no
// router solicitations or DAD traffic disturb the tests).
func (e *Env) NS() *NS {
	e.t.Helper()
	e.n++
	ns, err := Create(fmt.Sprintf("%s-%d", e.prefix, e.n))
	if ns != nil {
		ns.t = e.t
		e.t.Cleanup(func() {
			if err := ns.Delete(); err != nil {
				e.t.Errorf("%v", err)
			}
		})
	}
	if err != nil {
		e.t.Fatalf("%v", err)
	}
	return ns
}

// Create makes the namespace name with its loopback up and IPv6 off, for
// code that reports errors rather than failing a test (the benchmark's
// real packet paths). On an error after the namespace exists it returns
// the namespace too, for the caller to Delete.
func Create(name string) (*NS, error) {
	if err := run("ip", "netns", "add", name); err != nil {
		return nil, err
	}
	ns := &NS{Name: name}
	if err := ns.Run("ip", "link", "set", "lo", "up"); err != nil {
		return ns, err
	}
	for _, key := range []string{"all", "default"} {
		if err := ns.setSysctl("net.ipv6.conf."+key+".disable_ipv6", "1"); err != nil {
			return ns, err
		}
	}
	return ns, nil
}

// Delete removes the namespace (and the devices in it).
func (ns *NS) Delete() error {
	if err := run("ip", "netns", "del", ns.Name); err != nil {
		return fmt.Errorf("netns: deleting %s: %w", ns.Name, err)
	}
	return nil
}

// Run runs name with args inside the namespace (ip netns exec) and
// reports a failure with its output.
func (ns *NS) Run(name string, args ...string) error {
	return run("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Veth creates a veth pair with end aName in a and bName in b, both up.
func (e *Env) Veth(a *NS, aName string, b *NS, bName string) {
	e.t.Helper()
	if err := AddVeth(a, aName, b, bName); err != nil {
		e.t.Fatalf("%v", err)
	}
	a.IP("link", "set", aName, "up")
	b.IP("link", "set", bName, "up")
}

// AddVeth creates a veth pair with end aName in a and bName in b (down).
func AddVeth(a *NS, aName string, b *NS, bName string) error {
	return run("ip", "link", "add", aName, "netns", a.Name, "type", "veth", "peer", "name", bName, "netns", b.Name)
}

// IP runs ip(8) with args in the test's namespace, failing t on error.
func IP(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// IP runs ip(8) inside the namespace (ip -n NAME ...).
func (ns *NS) IP(args ...string) string {
	ns.t.Helper()
	return IP(ns.t, append([]string{"-n", ns.Name}, args...)...)
}

// Sysctl sets a sysctl inside the namespace.
func (ns *NS) Sysctl(key, value string) {
	ns.t.Helper()
	if err := ns.setSysctl(key, value); err != nil {
		ns.t.Fatalf("%v", err)
	}
}

func (ns *NS) setSysctl(key, value string) error {
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	if err := ns.Do(func() error { return os.WriteFile(path, []byte(value), 0o644) }); err != nil {
		return fmt.Errorf("sysctl %s=%s in %s: %w", key, value, ns.Name, err)
	}
	return nil
}

// Command returns a command that runs name with args inside the
// namespace (ip netns exec), killed if it outlives timeout.
func (ns *NS) Command(timeout time.Duration, name string, args ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
	cmd.WaitDelay = time.Second
	if timeout > 0 {
		timer := time.AfterFunc(timeout, func() {
			if cmd.Process != nil {
				cmd.Process.Kill()
			}
		})
		ns.t.Cleanup(func() { timer.Stop() })
	}
	return cmd
}

// Do runs fn on a thread that is inside the namespace, then moves the
// thread back. See the package documentation.
func (ns *NS) Do(fn func() error) error {
	target, err := unix.Open("/run/netns/"+ns.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netns: open %s: %w", ns.Name, err)
	}
	defer unix.Close(target)
	return do(target, fn)
}

func do(target int, fn func() error) error {
	runtime.LockOSThread()
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: current namespace: %w", err)
	}
	defer unix.Close(self)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: setns: %w", err)
	}
	ferr := fn()
	if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: the runtime kills it with the goroutine.
		return fmt.Errorf("netns: returning to the original namespace: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}
