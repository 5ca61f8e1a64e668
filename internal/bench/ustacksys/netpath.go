package ustacksys

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"

	"github.com/ustack/ustack/internal/bench"
	"github.com/ustack/ustack/internal/netns"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/spec"
)

// netPath is the real packet path a run over --link afxdp, afpacket or tap
// uses: network namespaces made for the run and removed after it, holding
// the two ends the stacks' links open. For afxdp and afpacket it is two
// namespaces joined by a veth pair, stack A's link on one end and stack
// B's on the other; for tap, one namespace with two TAP devices on a
// bridge. The kernel in those namespaces has no address on the devices and
// IPv6 off, so it answers none of the stacks' frames (it forwards nothing
// either: a fresh namespace does not route).
type netPath struct {
	kind spec.Kind
	ns   []*netns.NS
}

// Device names inside the namespaces (each namespace has its own, so
// parallel runs do not collide).
const (
	devA  = "ub0"
	devB  = "ub1"
	devBr = "ubr"
)

// pathNote says what a run over kind crossed.
func pathNote(kind spec.Kind) string {
	switch kind {
	case spec.TAP:
		return "two TAP devices on a Linux bridge in a namespace made for the run; frames cross the kernel (tun write, bridge, tun read)"
	case spec.AFPacket:
		return "AF_PACKET (mapped rings) on the two ends of a veth pair between namespaces made for the run; frames cross the kernel's veth"
	default:
		return "AF_XDP on the two ends of a veth pair between namespaces made for the run; frames cross the kernel's veth and XDP"
	}
}

// newNetPath makes the namespaces and devices for kind and opens the two
// stacks' links in them. addrs are the stacks' addresses (AF_XDP steers
// by them). On error nothing is left behind.
func newNetPath(kind spec.Kind, addrA, addrB netip.Addr) (p *netPath, la, lb link.Link, err error) {
	if os.Geteuid() != 0 {
		return nil, nil, nil, fmt.Errorf("link %s: %w: making network namespaces needs root", kind, bench.ErrUnavailable)
	}
	for _, tool := range []string{"ip", "ethtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, nil, nil, fmt.Errorf("link %s: %w: needs %s in PATH (scripts/install-deps.sh installs it)", kind, bench.ErrUnavailable, tool)
		}
	}
	var tag [3]byte
	if _, err := rand.Read(tag[:]); err != nil {
		return nil, nil, nil, fmt.Errorf("link %s: random namespace tag: %w", kind, err)
	}
	prefix := fmt.Sprintf("ustb-%d-%s", os.Getpid(), hex.EncodeToString(tag[:]))
	p = &netPath{kind: kind}
	defer func() {
		if err != nil {
			if la != nil {
				la.Close()
			}
			if lb != nil {
				lb.Close()
			}
			err = errors.Join(err, p.remove())
			p, la, lb = nil, nil, nil
		}
	}()
	nsA, err := p.addNS(prefix + "-a")
	if err != nil {
		return
	}
	nsB := nsA
	switch kind {
	case spec.TAP:
		steps := [][]string{
			{"link", "add", devBr, "type", "bridge"},
			{"tuntap", "add", "dev", devA, "mode", "tap"},
			{"tuntap", "add", "dev", devB, "mode", "tap"},
			{"link", "set", devA, "master", devBr},
			{"link", "set", devB, "master", devBr},
			{"link", "set", devBr, "up"},
		}
		for _, s := range steps {
			if err = nsA.Run("ip", s...); err != nil {
				return
			}
		}
	default:
		if nsB, err = p.addNS(prefix + "-b"); err != nil {
			return
		}
		if err = netns.AddVeth(nsA, devA, nsB, devB); err != nil {
			return
		}
		for _, e := range []struct {
			ns  *netns.NS
			dev string
		}{{nsA, devA}, {nsB, devB}} {
			// One frame per skb: the stacks send MTU-sized frames, and
			// veth's GRO (on with XDP) could hand a ring slot a
			// super-frame.
			if err = e.ns.Run("ethtool", "-K", e.dev, "gro", "off", "tso", "off", "gso", "off"); err != nil {
				return
			}
		}
	}
	if err = nsA.Run("ip", "link", "set", devA, "up"); err != nil {
		return
	}
	if err = nsB.Run("ip", "link", "set", devB, "up"); err != nil {
		return
	}
	// Each link is opened inside its namespace; its socket or device
	// stays there whatever thread uses it later.
	open := func(ns *netns.NS, dev string, a netip.Addr) (l link.Link, err error) {
		err = ns.Do(func() error {
			var e error
			l, e = spec.OpenWith(spec.Spec{Kind: kind, Name: dev}, spec.Options{Addrs: []netip.Addr{a}})
			return e
		})
		return l, err
	}
	if la, err = open(nsA, devA, addrA); err != nil {
		return
	}
	if lb, err = open(nsB, devB, addrB); err != nil {
		return
	}
	return p, la, lb, nil
}

func (p *netPath) addNS(name string) (*netns.NS, error) {
	ns, err := netns.Create(name)
	if ns != nil {
		p.ns = append(p.ns, ns)
	}
	return ns, err
}

// remove deletes the namespaces, and with them their devices. Call it
// after the links are closed.
func (p *netPath) remove() error {
	var errs []error
	for _, ns := range p.ns {
		if err := ns.Delete(); err != nil {
			errs = append(errs, err)
		}
	}
	p.ns = nil
	return errors.Join(errs...)
}
