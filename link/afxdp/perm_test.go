package afxdp

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestPermissionDenied runs this test binary again inside namespace A as
// an unprivileged user (setpriv: uid 65534, no capabilities) and checks
// that Open fails with ErrPermission and says what it needs.
func TestPermissionDenied(t *testing.T) {
	if iface := os.Getenv("AFXDP_PERM_CHILD"); iface != "" {
		_, err := Open(iface, 0)
		if !errors.Is(err, ErrPermission) {
			t.Fatalf("unprivileged Open: %v, want ErrPermission", err)
		}
		t.Logf("unprivileged Open: %v", err)
		return
	}
	p := newVethPair(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs setpriv (util-linux) to drop privileges; CI=true so this fails instead of skipping")
		}
		t.Skip("needs setpriv (util-linux) to drop privileges")
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", p.NsA, setpriv,
		"--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
		bin, "-test.run=^TestPermissionDenied$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "AFXDP_PERM_CHILD="+p.IfA)
	out, err := cmd.CombinedOutput()
	t.Logf("unprivileged child:\n%s", out)
	if err != nil || !strings.Contains(string(out), "CAP_NET_ADMIN+CAP_BPF") {
		t.Fatalf("child failed or did not report the permission error: %v", err)
	}
}
