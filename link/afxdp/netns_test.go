package afxdp

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// Private namespace helpers: each test gets two fresh network namespaces
// joined by a veth pair, named uniquely for this process, deleted in
// t.Cleanup. All traffic stays inside them.

var nsSeq atomic.Uint32

func needRoot(t testing.TB) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root (network namespaces, AF_XDP, BPF)"
	} else if _, err := exec.LookPath("ip"); err != nil {
		why = "needs iproute2's ip command"
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI=true so this fails instead of skipping", why)
	}
	t.Skip(why)
}

func run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// vethPair is namespace A with interface IfA and namespace B with IfB,
// joined back to back, both up. B's end has AddrB; A's end no address
// unless the test adds one.
type vethPair struct {
	NsA, NsB, IfA, IfB string
}

func newVethPair(t testing.TB) *vethPair {
	t.Helper()
	needRoot(t)
	id := fmt.Sprintf("%d-%d", os.Getpid(), nsSeq.Add(1))
	p := &vethPair{
		NsA: "ustack-xsk-a-" + id,
		NsB: "ustack-xsk-b-" + id,
		IfA: "xa" + strings.ReplaceAll(id, "-", "x"),
		IfB: "xb" + strings.ReplaceAll(id, "-", "x"),
	}
	if len(p.IfA) > 15 {
		p.IfA, p.IfB = p.IfA[:15], p.IfB[:15]
	}
	run(t, "ip", "netns", "add", p.NsA)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", p.NsA).Run() })
	run(t, "ip", "netns", "add", p.NsB)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", p.NsB).Run() })
	run(t, "ip", "-n", p.NsA, "link", "add", p.IfA, "type", "veth", "peer", "name", p.IfB, "netns", p.NsB)
	for _, c := range [][]string{
		{"ip", "-n", p.NsA, "link", "set", "lo", "up"},
		{"ip", "-n", p.NsB, "link", "set", "lo", "up"},
		{"ip", "-n", p.NsA, "link", "set", p.IfA, "up"},
		{"ip", "-n", p.NsB, "link", "set", p.IfB, "up"},
	} {
		run(t, c...)
	}
	return p
}

// inNetns runs f on an OS thread switched into namespace ns, then
// switches the thread back. If switching back fails the thread stays
// locked, so the runtime retires it instead of reusing it elsewhere.
func inNetns(t testing.TB, ns string, f func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer orig.Close()
	target, err := os.Open("/var/run/netns/" + ns)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("setns %s: %v", ns, err)
	}
	defer func() {
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			t.Errorf("restoring the thread's namespace: %v (thread left locked)", err)
			return
		}
		runtime.UnlockOSThread()
	}()
	f()
}

// openIn opens a Link in namespace ns.
func openIn(t testing.TB, ns, iface string, queue int, opts ...Option) (*Link, error) {
	t.Helper()
	var l *Link
	var err error
	inNetns(t, ns, func() { l, err = Open(iface, queue, opts...) })
	return l, err
}
