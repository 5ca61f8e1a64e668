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
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ustack ping [flags]")
		fmt.Fprintln(stderr, "Runs two userspace stacks joined by the in-memory link (10.0.0.1 and 10.0.0.2)")
		fmt.Fprintln(stderr, "and sends ICMP echo requests from the first to the second. No root needed.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "ustack ping: unexpected argument %q\n", fs.Arg(0))
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

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dst := peer.Addr()
	fmt.Fprintf(w, "PING %s from %s over mem (%s polling): %d data bytes\n", dst, local.Addr(), mode, size)
	var sent, recv int
	var min, max, sum time.Duration
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
		return fmt.Errorf("%d of %d requests unanswered", sent-recv, sent)
	}
	return nil
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}
