package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/link/capture"
	"github.com/ustack/ustack/link/mem"
	"github.com/ustack/ustack/link/spec"
	"github.com/ustack/ustack/shard"
)

func runPing(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ping", flag.ContinueOnError)
	fs.SetOutput(stderr)
	count := fs.Int("c", 5, "number of echo requests to send")
	size := fs.Int("s", 56, "payload bytes per request")
	interval := fs.Duration("i", 0, "wait between requests")
	timeout := fs.Duration("W", time.Second, "how long to wait for each reply")
	mode := fs.String("polling", "adaptive", "shard polling mode: adaptive, busy or interrupt")
	pcap := fs.String("w", "", "also write every frame of the pinging stack to this pcapng file")
	linkSpec := fs.String("link", "", "run one stack on this link and ping TARGET: "+spec.Forms+" (default: the two-stacks-over-mem demo)")
	addr := fs.String("addr", "", "with --link: the stack's own IPv4 address and prefix, such as 192.0.2.10/24")
	gw := fs.String("gw", "", "with --link: the default gateway for targets off the --addr prefix")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ustack ping [flags]")
		fmt.Fprintln(stderr, "       ustack ping --link SPEC --addr CIDR [--gw IP] [flags] TARGET")
		fmt.Fprintln(stderr, "Without --link: runs two userspace stacks joined by the in-memory link (10.0.0.1")
		fmt.Fprintln(stderr, "and 10.0.0.2) and sends ICMP echo requests from the first to the second. No root needed.")
		fmt.Fprintln(stderr, "With --link: runs one stack on a TAP device or network interface (root or")
		fmt.Fprintln(stderr, "CAP_NET_ADMIN/CAP_NET_RAW) and pings TARGET. The kernel must not also own --addr.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *count < 1 {
		fmt.Fprintln(stderr, "ustack ping: -c must be at least 1")
		return 2
	}
	pm, err := shard.ParseMode(*mode)
	if err != nil {
		fmt.Fprintf(stderr, "ustack ping: %v\n", err)
		return 2
	}
	if *linkSpec != "" && *linkSpec != "mem" {
		lp, err := parseLinkPing(*linkSpec, *addr, *gw, fs.Args())
		if err != nil {
			fmt.Fprintf(stderr, "ustack ping: %v\n", err)
			return 2
		}
		lp.count, lp.size, lp.interval, lp.timeout, lp.mode, lp.pcap = *count, *size, *interval, *timeout, pm, *pcap
		if err := lp.run(stdout); err != nil {
			fmt.Fprintf(stderr, "ustack ping: %v\n", err)
			return 1
		}
		return 0
	}
	if *addr != "" || *gw != "" {
		fmt.Fprintln(stderr, "ustack ping: --addr and --gw need --link SPEC (a tap or afpacket link); the mem demo uses 10.0.0.1 and 10.0.0.2")
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "ustack ping: unexpected argument %q (a TARGET needs --link SPEC --addr CIDR)\n", fs.Arg(0))
		return 2
	}
	if err := ping(stdout, *count, *size, *interval, *timeout, pm, *pcap); err != nil {
		fmt.Fprintf(stderr, "ustack ping: %v\n", err)
		return 1
	}
	return 0
}

func ping(w io.Writer, count, size int, interval, timeout time.Duration, mode shard.Mode, pcap string) error {
	la, lb, err := mem.NewPair()
	if err != nil {
		return err
	}
	var l link.Link = la
	if pcap != "" {
		f, err := os.Create(pcap)
		if err != nil {
			return err
		}
		c, err := capture.New(la, f, capture.WithName("mem0"), capture.WithCloseWriter())
		if err != nil {
			f.Close()
			return err
		}
		l = c
	}
	local, peer := netip.MustParsePrefix("10.0.0.1/24"), netip.MustParsePrefix("10.0.0.2/24")
	a, err := ustack.New(ustack.Config{Link: l, Addr: local, Polling: mode})
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := ustack.New(ustack.Config{Link: lb, Addr: peer, Polling: mode})
	if err != nil {
		return err
	}
	defer b.Close()

	return pingLoop(w, a, local.Addr(), peer.Addr(), "mem", count, size, interval, timeout, mode)
}

// pingLoop sends count echo requests from s to dst and prints ping(8)-like
// lines; it fails when any request goes unanswered.
func pingLoop(w io.Writer, a *ustack.Stack, src, dst netip.Addr, over string, count, size int, interval, timeout time.Duration, mode shard.Mode) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Fprintf(w, "PING %s from %s over %s (%s polling): %d data bytes\n", dst, src, over, mode, size)
	var sent, recv int
	var min, max, sum time.Duration
	var firstErr error
	for i := 1; i <= count && ctx.Err() == nil; i++ {
		if i > 1 && interval > 0 {
			select {
			case <-time.After(interval):
			case <-ctx.Done():
			}
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		rtt, err := a.Ping(pctx, dst, size)
		cancel()
		sent++
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			fmt.Fprintf(w, "icmp_seq=%d: %v\n", i, err)
			continue
		}
		recv++
		sum += rtt
		if recv == 1 || rtt < min {
			min = rtt
		}
		if rtt > max {
			max = rtt
		}
		fmt.Fprintf(w, "%d bytes from %s: icmp_seq=%d time=%s\n", size+8, dst, i, rtt)
	}
	fmt.Fprintf(w, "--- %s ping statistics ---\n", dst)
	fmt.Fprintf(w, "%d packets transmitted, %d received, %.0f%% packet loss\n", sent, recv, 100*float64(sent-recv)/float64(max1(sent)))
	if recv > 0 {
		fmt.Fprintf(w, "rtt min/avg/max = %s/%s/%s\n", min, sum/time.Duration(recv), max)
	}
	if recv != sent {
		return &unansweredError{n: sent - recv, of: sent, first: firstErr}
	}
	return nil
}

type unansweredError struct {
	n, of int
	first error
}

func (e *unansweredError) Error() string {
	return fmt.Sprintf("%d of %d requests unanswered", e.n, e.of)
}

func (e *unansweredError) Unwrap() error { return e.first }

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// linkPing is `ustack ping --link SPEC --addr CIDR [--gw IP] TARGET`.
type linkPing struct {
	spec     spec.Spec
	addr     netip.Prefix
	gw       netip.Addr
	target   netip.Addr
	count    int
	size     int
	interval time.Duration
	timeout  time.Duration
	mode     shard.Mode
	pcap     string
}

func parseLinkPing(linkSpec, addr, gw string, args []string) (*linkPing, error) {
	sp, err := spec.Parse(linkSpec)
	if err != nil {
		return nil, err
	}
	lp := &linkPing{spec: sp}
	if addr == "" {
		return nil, fmt.Errorf("--link %s needs --addr CIDR: the stack's own IPv4 address and prefix on that link, such as 192.0.2.10/24 (an address the kernel does not also have)", linkSpec)
	}
	if lp.addr, err = netip.ParsePrefix(addr); err != nil || !lp.addr.Addr().Is4() {
		return nil, fmt.Errorf("--addr %q is not an IPv4 address with a prefix length, such as 192.0.2.10/24", addr)
	}
	if gw != "" {
		if lp.gw, err = netip.ParseAddr(gw); err != nil || !lp.gw.Is4() {
			return nil, fmt.Errorf("--gw %q is not an IPv4 address", gw)
		}
		if !lp.addr.Masked().Contains(lp.gw) {
			return nil, fmt.Errorf("--gw %s is not inside --addr's prefix %s", lp.gw, lp.addr.Masked())
		}
	}
	switch len(args) {
	case 0:
		return nil, fmt.Errorf("--link %s needs a TARGET address to ping, as the last argument", linkSpec)
	case 1:
	default:
		return nil, fmt.Errorf("one TARGET only, got %q (flags go before TARGET)", args)
	}
	if lp.target, err = netip.ParseAddr(args[0]); err != nil || !lp.target.Is4() {
		return nil, fmt.Errorf("TARGET %q is not an IPv4 address", args[0])
	}
	if !lp.gw.IsValid() && !lp.addr.Masked().Contains(lp.target) {
		return nil, fmt.Errorf("TARGET %s is off the link's prefix %s: give --gw IP, a router on the link", lp.target, lp.addr.Masked())
	}
	return lp, nil
}

func (lp *linkPing) run(w io.Writer) error {
	// Replies larger than a frame come back in fragments, which the stack
	// reassembles into the first fragment's buffer: make buffers hold them.
	opt := spec.Options{Addrs: []netip.Addr{lp.addr.Addr()}}
	if need := 14 + 20 + 8 + lp.size; need > 2048 {
		opt.Pool = link.PoolConfig{Count: 1024, Size: need}
	}
	l, err := spec.OpenWith(lp.spec, opt)
	if err != nil {
		return err
	}
	if lp.pcap != "" {
		f, err := os.Create(lp.pcap)
		if err != nil {
			l.Close()
			return err
		}
		c, err := capture.New(l, f, capture.WithName(lp.spec.String()), capture.WithCloseWriter())
		if err != nil {
			f.Close()
			l.Close()
			return err
		}
		l = c
	}
	s, err := ustack.New(ustack.Config{Link: l, Addr: lp.addr, Gateway: lp.gw, Polling: lp.mode})
	if err != nil {
		l.Close()
		return err
	}
	defer s.Close()
	err = pingLoop(w, s, lp.addr.Addr(), lp.target, lp.spec.String(), lp.count, lp.size, lp.interval, lp.timeout, lp.mode)
	var ue *unansweredError
	if errors.As(err, &ue) && ue.n == ue.of {
		hint := "check that the target is up and on the link"
		if lp.spec.Kind == spec.TAP {
			hint = fmt.Sprintf("is the kernel side of %s up with an address in %s? (ip addr add %s/%d dev %s; ip link set %s up)",
				lp.spec.Name, lp.addr.Masked(), lp.target, lp.addr.Bits(), lp.spec.Name, lp.spec.Name)
		}
		return fmt.Errorf("%w: %s", err, hint)
	}
	return err
}
