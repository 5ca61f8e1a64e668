package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/capture"
	"github.com/ustack/ustack/link/impair"
	"github.com/ustack/ustack/link/spec"
	"github.com/ustack/ustack/shard"
)

// stackFlags are the flags serve and get share: which link the stack runs
// on, its address, and the optional impairment and capture around the link.
// (ping's --link handling also wants a TARGET, so it keeps its own parser.)
type stackFlags struct {
	link, addr, gw, impair, capture, polling string
	shards                                   int
}

func (f *stackFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.link, "link", "", "the link the stack runs on: "+spec.Forms+" (required; mem has no peer here)")
	fs.StringVar(&f.addr, "addr", "", "the stack's own IPv4 address and prefix, such as 192.0.2.10/24 (an address the kernel does not also have)")
	fs.StringVar(&f.gw, "gw", "", "default gateway for destinations off the --addr prefix")
	fs.StringVar(&f.impair, "impair", "", "impair the link in both directions, such as delay=20ms,loss=1%,reorder=1%,dup=0.1% (see link/impair.ParseSpec)")
	fs.StringVar(&f.capture, "capture", "", "write every frame on the link to this pcapng file")
	fs.StringVar(&f.polling, "polling", "adaptive", "shard polling mode: adaptive, busy or interrupt")
	fs.IntVar(&f.shards, "shards", 1, "run this many shards, one per queue of the link: a multi-queue TAP device, an AF_PACKET fanout group, or AF_XDP queues QUEUE.. (at most 256)")
}

// stackSetup is stackFlags checked and parsed.
type stackSetup struct {
	spec    spec.Spec
	addr    netip.Prefix
	gw      netip.Addr
	impair  *impair.Config
	capture string
	mode    shard.Mode
	shards  int

	// queues are the links the stack runs on, shard by shard (set by
	// start; the stack owns them).
	queues []link.Link
}

// errNeedsRealLink is what serve and get say to --link mem.
var errNeedsRealLink = errors.New("--link mem has no peer outside this process: give a real link (tap:NAME, afpacket:IFACE or afxdp:IFACE); try ustack bench or ustack ping for the in-memory demo")

func (f *stackFlags) parse() (*stackSetup, error) {
	if f.link == "" {
		return nil, fmt.Errorf("--link SPEC is required (%s)", spec.Forms)
	}
	sp, err := spec.Parse(f.link)
	if err != nil {
		return nil, err
	}
	if sp.Kind == spec.Mem {
		return nil, errNeedsRealLink
	}
	if f.shards < 1 || f.shards > spec.MaxQueues {
		return nil, fmt.Errorf("--shards %d is not in [1, %d]", f.shards, spec.MaxQueues)
	}
	if f.shards > 1 && (f.capture != "" || f.impair != "") {
		return nil, fmt.Errorf("--shards %d cannot be combined with --capture or --impair: they wrap a single link, and each shard has a queue of its own; use --shards 1 to capture or impair", f.shards)
	}
	ss := &stackSetup{spec: sp, capture: f.capture, shards: f.shards}
	if f.addr == "" {
		return nil, fmt.Errorf("--link %s needs --addr CIDR: the stack's own IPv4 address and prefix, such as 192.0.2.10/24", f.link)
	}
	if ss.addr, err = netip.ParsePrefix(f.addr); err != nil || !ss.addr.Addr().Is4() {
		return nil, fmt.Errorf("--addr %q is not an IPv4 address with a prefix length, such as 192.0.2.10/24", f.addr)
	}
	if f.gw != "" {
		if ss.gw, err = netip.ParseAddr(f.gw); err != nil || !ss.gw.Is4() {
			return nil, fmt.Errorf("--gw %q is not an IPv4 address", f.gw)
		}
		if !ss.addr.Masked().Contains(ss.gw) {
			return nil, fmt.Errorf("--gw %s is not inside --addr's prefix %s", ss.gw, ss.addr.Masked())
		}
	}
	if f.impair != "" {
		c, err := impair.ParseSpec(f.impair)
		if err != nil {
			return nil, fmt.Errorf("--impair: %w", err)
		}
		ss.impair = &c
	}
	if ss.mode, err = shard.ParseMode(f.polling); err != nil {
		return nil, err
	}
	return ss, nil
}

// start opens the link (in the calling thread's network namespace), wraps
// it in capture and impairment as asked, and starts a stack on it. Closing
// the stack closes the link and flushes the capture.
func (ss *stackSetup) start() (*ustack.Stack, error) {
	if ss.shards > 1 {
		return ss.startShards()
	}
	l, err := ss.openLink()
	if err != nil {
		return nil, err
	}
	// Capture sits next to the device, so the file shows what was really
	// on the wire: impairment happens on the stack's side of it.
	if ss.capture != "" {
		f, err := os.Create(ss.capture)
		if err != nil {
			l.Close()
			return nil, err
		}
		c, err := capture.New(l, f, capture.WithName(ss.spec.String()), capture.WithCloseWriter())
		if err != nil {
			f.Close()
			l.Close()
			return nil, err
		}
		l = c
	}
	if ss.impair != nil {
		w, err := impair.Wrap(l, *ss.impair)
		if err != nil {
			l.Close()
			return nil, err
		}
		l = heldFrames{w}
	}
	s, err := ustack.New(ustack.Config{Link: l, Addr: ss.addr, Gateway: ss.gw, Polling: ss.mode})
	if err != nil {
		l.Close()
		return nil, err
	}
	ss.queues = []link.Link{l}
	return s, nil
}

// startShards opens ss.shards queues of the device and starts a stack
// with one shard per queue (no capture or impairment: parse refuses them).
func (ss *stackSetup) startShards() (*ustack.Stack, error) {
	if err := ss.checkXDPIface(); err != nil {
		return nil, err
	}
	ls, err := spec.OpenQueues(ss.spec, ss.shards, spec.Options{Addrs: []netip.Addr{ss.addr.Addr()}})
	if err != nil {
		return nil, err
	}
	s, err := ustack.New(ustack.Config{Link: ls[0], Queues: ls[1:], Addr: ss.addr, Gateway: ss.gw, Polling: ss.mode})
	if err != nil {
		for _, l := range ls {
			l.Close()
		}
		return nil, err
	}
	ss.queues = ls
	return s, nil
}

// checkXDPIface names a missing AF_XDP interface plainly (afxdp's own
// error comes from deep inside its setup).
func (ss *stackSetup) checkXDPIface() error {
	if ss.spec.Kind == spec.AFXDP {
		if _, err := net.InterfaceByName(ss.spec.Name); err != nil {
			return fmt.Errorf("link %s: interface %q not found in this network namespace (see `ip link show`): %w", ss.spec, ss.spec.Name, err)
		}
	}
	return nil
}

// shardsText is the shard count for the start line.
func shardsText(n int) string {
	if n == 1 {
		return "1 shard"
	}
	return fmt.Sprintf("%d shards", n)
}

// openLink opens the device; AF_XDP steers the stack's address to its
// socket, so spec is told the address.
func (ss *stackSetup) openLink() (link.Link, error) {
	if err := ss.checkXDPIface(); err != nil {
		return nil, err
	}
	l, err := spec.OpenWith(ss.spec, spec.Options{Addrs: []netip.Addr{ss.addr.Addr()}})
	if err != nil && ss.spec.Kind == spec.AFXDP {
		return nil, fmt.Errorf("link %s: %w", ss.spec, err)
	}
	return l, err
}

// heldFrames hides the impaired link's descriptor. impair.Link holds
// frames until they fall due and releases them only inside Send and Recv,
// but passes the wrapped descriptor through: a shard parked on that
// descriptor would not wake when a held frame falls due. With no
// descriptor and no link.Waiter the shard polls the link every
// shard.DefaultPollInterval (100µs) while parked, which releases held
// frames on time at the cost of some idle CPU.
type heldFrames struct{ *impair.Link }

func (heldFrames) Fd() int { return -1 }
