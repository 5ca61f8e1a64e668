package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// getConfig is `ustack get` parsed.
type getConfig struct {
	stack   *stackSetup
	url     *url.URL
	out     string
	timeout time.Duration
}

func parseGet(args []string, stderr io.Writer) (*getConfig, error) {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf stackFlags
	sf.register(fs)
	out := fs.String("o", "", "write the body to this file instead of stdout")
	timeout := fs.Duration("timeout", 0, "give up after this long (0: no limit)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ustack get --link SPEC --addr CIDR [--gw IP] [-o FILE] [flags] URL")
		fmt.Fprintln(stderr, "HTTP GET through a userspace stack on a real link (net/http's client dialing with")
		fmt.Fprintln(stderr, "the stack's DialContext). The body goes to stdout or -o FILE; the status, size and")
		fmt.Fprintln(stderr, "SHA-256 of the body go to stderr. URL's host must be an IPv4 address (no DNS).")
		fs.PrintDefaults()
	}
	var rest []string
	if err := fs.Parse(args); err != nil {
		return nil, flagError{err}
	}
	for fs.NArg() > 0 {
		rest = append(rest, fs.Arg(0))
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return nil, flagError{err}
		}
	}
	if len(rest) != 1 {
		return nil, fmt.Errorf("give exactly one URL (got %q)", rest)
	}
	u, err := url.Parse(rest[0])
	if err != nil {
		return nil, fmt.Errorf("URL %q: %w", rest[0], err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("URL %q: only http:// is supported", rest[0])
	}
	if a, err := netip.ParseAddr(u.Hostname()); err != nil || !a.Is4() {
		return nil, fmt.Errorf("URL %q: the host must be an IPv4 address (ustack has no DNS resolver)", rest[0])
	}
	if *timeout < 0 {
		return nil, errors.New("--timeout must not be negative")
	}
	ss, err := sf.parse()
	if err != nil {
		return nil, err
	}
	return &getConfig{stack: ss, url: u, out: *out, timeout: *timeout}, nil
}

func runGet(args []string, stdout, stderr io.Writer) int {
	gc, err := parseGet(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if !isFlagErr(err) {
			fmt.Fprintf(stderr, "ustack get: %v\n", err)
		}
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if gc.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, gc.timeout)
		defer cancel()
	}
	if err := get(ctx, gc, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "ustack get: %v\n", err)
		return 1
	}
	return 0
}

// get fetches gc.url through a stack and writes the body out. A status
// other than 200 is an error (after the body has been written).
func get(ctx context.Context, gc *getConfig, stdout, stderr io.Writer) (err error) {
	var w io.Writer = stdout
	if gc.out != "" {
		f, err := os.Create(gc.out)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		w = f
	}
	s, err := gc.stack.start()
	if err != nil {
		return err
	}
	defer s.Close()
	tr := &http.Transport{
		DialContext:        s.DialContext,
		DisableCompression: true, // the digest is of the bytes served
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, gc.url.String(), nil)
	if err != nil {
		return err
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("%w (is the server at %s up and on the link?)", err, gc.url.Host)
		}
		return err
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), resp.Body)
	el := time.Since(start)
	if err != nil {
		return fmt.Errorf("after %d bytes: %w", n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("got %d bytes, Content-Length said %d", n, resp.ContentLength)
	}
	rate := float64(n) * 8 / max(el.Seconds(), 1e-9) / 1e6
	fmt.Fprintf(stderr, "%s %s: %d bytes in %s (%.1f Mbit/s) sha256 %x\n", resp.Proto, resp.Status, n, el.Round(time.Millisecond), rate, h.Sum(nil))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("server answered %s", resp.Status)
	}
	return nil
}
