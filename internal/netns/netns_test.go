package netns_test

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ustack/ustack/internal/netns"
)

func nsInode(t *testing.T) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// TestDoEntersAndRestores: inside Do the thread is in the namespace (it
// sees the namespace's veth end); afterwards the namespace of every
// thread is the original one again; and Cleanup deletes the namespaces.
func TestDoEntersAndRestores(t *testing.T) {
	netns.Require(t)
	var names []string
	t.Run("env", func(t *testing.T) {
		e := netns.New(t)
		a, b := e.NS(), e.NS()
		if a.Name == b.Name || !strings.Contains(a.Name, "-"+strconv.Itoa(os.Getpid())+"-") {
			t.Fatalf("names %q, %q: want distinct names with the pid", a.Name, b.Name)
		}
		names = []string{a.Name, b.Name}
		e.Veth(a, "xa", b, "xb")
		outer := nsInode(t)
		var inner uint64
		err := a.Do(func() error {
			var st unix.Stat_t
			err := unix.Stat("/proc/thread-self/ns/net", &st)
			inner = st.Ino
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if inner == outer {
			t.Fatal("Do ran fn in the original namespace")
		}
		for i := 0; i < 20; i++ { // whatever thread we land on
			if got := nsInode(t); got != outer {
				t.Fatalf("thread left in namespace %d after Do (original %d)", got, outer)
			}
		}
		if out := a.IP("-o", "link", "show"); !strings.Contains(out, "xa@") || strings.Contains(out, "xb@") {
			t.Fatalf("namespace %s links:\n%s", a.Name, out)
		}
	})
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.Contains(string(out), n) {
			t.Errorf("namespace %s still exists after cleanup", n)
		}
	}
}

func TestWithoutNetCaps(t *testing.T) {
	netns.Require(t)
	err := netns.WithoutNetCaps(func() error {
		_, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		return err
	})
	if err != unix.EPERM {
		t.Fatalf("AF_PACKET socket without CAP_NET_RAW: %v, want EPERM", err)
	}
	if fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0); err != nil {
		t.Fatalf("capabilities lost outside WithoutNetCaps: %v", err)
	} else {
		unix.Close(fd)
	}
}
