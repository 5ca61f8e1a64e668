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
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ustack/ustack"
	"github.com/ustack/ustack/link"
	"github.com/ustack/ustack/tcp"
)

// serveConfig is `ustack serve` parsed.
type serveConfig struct {
	stack *stackSetup
	kind  string // echo, discard or http
	port  uint16
	dir   string
	stats time.Duration
}

func serveUsage(fs *flag.FlagSet, w io.Writer) func() {
	return func() {
		fmt.Fprintln(w, "Usage: ustack serve --link SPEC --addr CIDR [flags] echo|discard|http [--dir DIR]")
		fmt.Fprintln(w, "Runs a server on a userspace stack on a real link (root or CAP_NET_ADMIN/CAP_NET_RAW;")
		fmt.Fprintln(w, "AF_XDP also CAP_BPF). The kernel must not also own --addr.")
		fmt.Fprintln(w, "  echo     sends back every byte received (port 7 by default)")
		fmt.Fprintln(w, "  discard  reads and drops every byte (port 9 by default)")
		fmt.Fprintln(w, "  http     net/http over the stack's net.Listener (port 8080 by default): GET and HEAD")
		fmt.Fprintln(w, "           serve the files under --dir, like python3 -m http.server; PUT or POST to")
		fmt.Fprintln(w, "           any path reads the body, discards it (nothing is written) and answers")
		fmt.Fprintln(w, "           \"size=N sha256=HEX\"")
		fmt.Fprintln(w, "Ctrl-C (SIGINT) or SIGTERM stops it: listener closed, stack closed, capture flushed.")
		fs.PrintDefaults()
	}
}

func parseServe(args []string, stderr io.Writer) (*serveConfig, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf stackFlags
	sf.register(fs)
	port := fs.Int("port", 0, "TCP port to listen on (default 7 for echo, 9 for discard, 8080 for http)")
	dir := fs.String("dir", ".", "http: the directory to serve")
	stats := fs.Duration("stats", 0, "print the TCP connection counts and counters to stderr this often (0: only at exit)")
	fs.Usage = serveUsage(fs, stderr)
	if err := fs.Parse(args); err != nil {
		return nil, flagError{err}
	}
	// The kind may come before flags too (serve ... http --dir x).
	var kinds []string
	for fs.NArg() > 0 {
		kinds = append(kinds, fs.Arg(0))
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return nil, flagError{err}
		}
	}
	if len(kinds) != 1 {
		return nil, fmt.Errorf("give exactly one of echo, discard or http (got %q)", kinds)
	}
	sc := &serveConfig{kind: kinds[0], dir: *dir, stats: *stats}
	def := 0
	switch sc.kind {
	case "echo":
		def = 7
	case "discard":
		def = 9
	case "http":
		def = 8080
	default:
		return nil, fmt.Errorf("unknown server %q: give echo, discard or http", sc.kind)
	}
	if *port == 0 {
		*port = def
	}
	if *port < 1 || *port > 65535 {
		return nil, fmt.Errorf("--port %d is not in [1, 65535]", *port)
	}
	sc.port = uint16(*port)
	if *stats < 0 {
		return nil, fmt.Errorf("--stats must not be negative")
	}
	if sc.kind == "http" {
		st, err := os.Stat(sc.dir)
		if err != nil {
			return nil, fmt.Errorf("--dir: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("--dir %s is not a directory", sc.dir)
		}
	}
	ss, err := sf.parse()
	if err != nil {
		return nil, err
	}
	sc.stack = ss
	return sc, nil
}

func runServe(args []string, stdout, stderr io.Writer) int {
	sc, err := parseServe(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if !isFlagErr(err) {
			fmt.Fprintf(stderr, "ustack serve: %v\n", err)
		}
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, sc, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "ustack serve: %v\n", err)
		return 1
	}
	return 0
}

// flagError is an error the flag package has already printed.
type flagError struct{ err error }

func (e flagError) Error() string { return e.err.Error() }
func (e flagError) Unwrap() error { return e.err }

func isFlagErr(err error) bool {
	var fe flagError
	return errors.As(err, &fe)
}

// serve runs the server until ctx ends (or the HTTP server fails), then
// closes everything in order and prints the closing counters.
func serve(ctx context.Context, sc *serveConfig, stdout, stderr io.Writer) error {
	log := newServeLog(stderr)
	defer log.close()
	s, err := sc.stack.start()
	if err != nil {
		return err
	}
	defer s.Close()
	addr := fmt.Sprintf("%s:%d", sc.stack.addr.Addr(), sc.port)
	failed := make(chan error, 1)

	var stopServer func()
	switch sc.kind {
	case "echo", "discard":
		el, err := s.ListenEvents(sc.port, &eventServer{echo: sc.kind == "echo", log: log})
		if err != nil {
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		stopServer = func() { el.Close() }
		fmt.Fprintf(stdout, "ustack serve: %s on %s over %s with %s (Ctrl-C stops)\n", sc.kind, addr, sc.stack.spec, shardsText(s.Shards()))
	case "http":
		ln, err := s.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		abs, _ := filepath.Abs(sc.dir)
		srv := &http.Server{
			Handler:           httpHandler(sc.dir),
			ReadHeaderTimeout: 30 * time.Second,
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := srv.Serve(&resetListener{Listener: ln, log: log}); !errors.Is(err, http.ErrServerClosed) {
				failed <- fmt.Errorf("http server: %w", err)
			}
		}()
		stopServer = func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if srv.Shutdown(sctx) != nil {
				srv.Close()
			}
			<-done
		}
		fmt.Fprintf(stdout, "ustack serve: http on http://%s/ over %s with %s, serving %s (Ctrl-C stops)\n", addr, sc.stack.spec, shardsText(s.Shards()), abs)
	}

	var tick <-chan time.Time
	if sc.stats > 0 {
		t := time.NewTicker(sc.stats)
		defer t.Stop()
		tick = t.C
	}
	var serr error
	for serr == nil && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case serr = <-failed:
		case <-tick:
			printStats(stderr, s, sc.stack.queues, log)
		}
	}
	stopServer()
	printStats(stderr, s, sc.stack.queues, log)
	if err := s.Close(); serr == nil {
		serr = err
	}
	return serr
}

// printStats prints one stats line. With several shards it adds the
// frames handed between shards in software (frames that arrived on a
// queue other than their connection's shard's) and the frames each queue
// received and dropped (q0_rx=..., q0_rx_dropped=..., q1_rx=...).
func printStats(w io.Writer, s *ustack.Stack, queues []link.Link, log *serveLog) {
	st, err := s.TCPStats()
	if err != nil {
		return
	}
	c := st.Counters
	var extra strings.Builder
	if n := s.Shards(); n > 1 {
		fmt.Fprintf(&extra, " shards=%d handoffs=%d handoff_drops=%d", n, st.Handoffs, st.HandoffDrops)
		for i, q := range queues {
			ls := q.Stats()
			fmt.Fprintf(&extra, " q%d_rx=%d q%d_rx_dropped=%d", i, ls.RxFrames, i, ls.RxDropped)
		}
	}
	fmt.Fprintf(w, "ustack serve: stats conns=%d estab=%d timewait=%d accepted=%d resets_seen=%d estab_resets=%d out_rsts=%d retrans=%d in_csum_errors=%d%s\n",
		st.Conns, c.CurrEstab, st.TimeWait, c.PassiveOpens, log.resets.Load(), c.EstabResets, c.OutRsts, c.RetransSegs, st.InCsumErrors, extra.String())
}

// serveLog reports per-connection trouble: one line per connection the
// peer reset, and a count of them. reset never blocks (the event
// handlers call it on the shard goroutine): lines go through a buffered
// channel to a printing goroutine, and when that is full only the count
// grows.
type serveLog struct {
	resets atomic.Uint64
	mu     sync.Mutex // orders reset's send against close
	closed bool
	lines  chan string
	done   chan struct{}
}

func newServeLog(w io.Writer) *serveLog {
	l := &serveLog{lines: make(chan string, 256), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for line := range l.lines {
			fmt.Fprintln(w, line)
		}
	}()
	return l
}

func (l *serveLog) reset(remote string) {
	l.resets.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	select {
	case l.lines <- "ustack serve: " + remote + ": connection reset by peer":
	default:
	}
}

// close prints what is queued; later resets are only counted.
func (l *serveLog) close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.lines)
	}
	l.mu.Unlock()
	<-l.done
}

// eventServer is echo and discard on the event API: it runs on the
// shard goroutine, reads received bytes in place (Peek) and, for echo,
// writes them straight back.
type eventServer struct {
	echo bool
	log  *serveLog
	one  [1]byte
}

func (e *eventServer) Accept(*ustack.EventConn) ustack.ConnHandler { return e }
func (e *eventServer) Established(*ustack.EventConn)               {}
func (e *eventServer) Readable(c *ustack.EventConn)                { e.pump(c) }
func (e *eventServer) Writable(c *ustack.EventConn)                { e.pump(c) }

func (e *eventServer) pump(c *ustack.EventConn) {
	for {
		p := c.Peek()
		if len(p) == 0 {
			break
		}
		n := len(p)
		if e.echo {
			n, _ = c.Write(p)
		}
		c.Consume(n)
		if n < len(p) {
			return // send buffer full: Writable resumes
		}
	}
	// Queue empty: a zero-byte Read tells EOF apart from "nothing yet".
	if _, err := c.Read(e.one[:]); err == io.EOF {
		c.Close()
	}
}

func (e *eventServer) Closed(c *ustack.EventConn, err error) {
	if errors.Is(err, tcp.ErrConnReset) {
		e.log.reset(c.RemoteAddr().String())
	}
}

// resetListener reports connections the peer reset while net/http used
// them (net/http itself says nothing about them).
type resetListener struct {
	net.Listener
	log *serveLog
}

func (l *resetListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &resetConn{Conn: c, log: l.log}, nil
}

type resetConn struct {
	net.Conn
	log  *serveLog
	seen atomic.Bool
}

func (c *resetConn) note(err error) {
	if err != nil && errors.Is(err, syscall.ECONNRESET) && c.seen.CompareAndSwap(false, true) {
		c.log.reset(c.RemoteAddr().String())
	}
}

func (c *resetConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.note(err)
	return n, err
}

func (c *resetConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.note(err)
	return n, err
}

// httpHandler serves dir for GET and HEAD and hashes PUT and POST bodies.
func httpHandler(dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			files.ServeHTTP(w, r)
		case http.MethodPut, http.MethodPost:
			h := sha256.New()
			n, err := io.Copy(h, r.Body)
			if err != nil {
				http.Error(w, fmt.Sprintf("reading the body after %d bytes: %v", n, err), http.StatusBadRequest)
				return
			}
			fmt.Fprintf(w, "size=%d sha256=%x\n", n, h.Sum(nil))
		default:
			w.Header().Set("Allow", "GET, HEAD, PUT, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}
