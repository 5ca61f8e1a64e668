package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/ustack/ustack/internal/bench"
	"github.com/ustack/ustack/internal/bench/ustacksys"
	"github.com/ustack/ustack/shard"
)

// defaultBenchDuration keeps the default run (5 workloads on 3 systems,
// each with an eighth more of warm-up, plus set-up) under about a minute.
const defaultBenchDuration = 2 * time.Second

func runBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", defaultBenchDuration, "measured time per workload and system (warm-up adds an eighth, at least 50ms)")
	workloads := fs.String("workloads", "", "comma-separated workloads to run (default all: "+bench.WorkloadNames()+")")
	systems := fs.String("systems", "", "comma-separated systems to run (default all: "+strings.Join(mainSystems, ",")+"; gvisor runs from bench/peers, see scripts/bench-all.sh)")
	mode := fs.String("polling", "adaptive", "ustack shard polling mode: adaptive, busy or interrupt")
	shards := fs.Int("shards", 1, "shards per ustack stack (link/mem queues steered by flow hash, one shard goroutine each)")
	linkSpec := fs.String("link", "mem", "link the ustack stacks run over: mem (in-process rings), or afxdp, afpacket or tap: a real packet path through the kernel between network namespaces the run makes and removes (root; veth pair, or TAPs on a bridge)")
	asJSON := fs.Bool("json", false, "print one JSON array of rows instead of a table")
	cpuprofile := fs.String("cpuprofile", "", "write a pprof CPU profile of the whole run to this file")
	merge := fs.Bool("merge", false, "run nothing: merge the JSON row files given as arguments (- for stdin) into one table (or, with --json, one array)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ustack bench [flags]")
		fmt.Fprintln(stderr, "       ustack bench --merge [--json] FILE...")
		fmt.Fprintln(stderr, "Runs the same workloads on the kernel's TCP (127.0.0.1 through package net) and on")
		fmt.Fprintln(stderr, "two ustack stacks joined by the in-memory link (through net.Conn and through the")
		fmt.Fprintln(stderr, "event API), and prints each figure beside the kernel's with the ratio.")
		fmt.Fprintln(stderr, "Workloads: rtt (1-byte request/response), bulk-1500 and bulk-gso (one-way")
		fmt.Fprintln(stderr, "throughput, 1500-byte MTU and large frames), cps-1 and cps-64 (open, 1-byte")
		fmt.Fprintln(stderr, "exchange, close, with 1 and 64 concurrent clients). CPU time and allocations are")
		fmt.Fprintln(stderr, "the whole process's (both ends of every connection) over the measured window.")
		fmt.Fprintln(stderr, "gVisor runs from its own module: scripts/bench-all.sh runs it beside this command")
		fmt.Fprintln(stderr, "and merges the rows (see bench/peers/README.md).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *merge {
		return benchMerge(fs.Args(), *asJSON, stdout, stderr)
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "ustack bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *duration <= 0 {
		fmt.Fprintln(stderr, "ustack bench: --duration must be positive")
		return 2
	}
	wl, err := bench.SelectWorkloads(*workloads)
	if err != nil {
		fmt.Fprintf(stderr, "ustack bench: --workloads: %v\n", err)
		return 2
	}
	pm, err := shard.ParseMode(*mode)
	if err != nil {
		fmt.Fprintf(stderr, "ustack bench: --polling: %v\n", err)
		return 2
	}
	if _, err := ustacksys.CheckLink(*linkSpec); err != nil {
		fmt.Fprintf(stderr, "ustack bench: --link: %v\n", err)
		return 2
	}
	if *shards < 1 || *shards > 64 {
		fmt.Fprintln(stderr, "ustack bench: --shards must be in [1, 64]")
		return 2
	}
	sys, err := selectSystems(*systems, ustacksys.Options{Polling: pm, Link: *linkSpec, Shards: *shards})
	if err != nil {
		fmt.Fprintf(stderr, "ustack bench: --systems: %v\n", err)
		return 2
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintf(stderr, "ustack bench: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "ustack bench: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	load := loadAverage()
	progress := newProgress(stderr)
	rows := bench.Run(ctx, sys, wl, bench.Params{Duration: *duration}, progress)
	progress.done()
	if *asJSON {
		err = bench.WriteJSON(stdout, rows)
	} else {
		fmt.Fprintf(stdout, "ustack bench: %v per workload (+%v warm-up), ustack over %s with %s polling;\n", *duration, bench.DefaultWarmup(*duration), *linkSpec, pm)
		fmt.Fprintf(stdout, "GOMAXPROCS %d on %d CPUs, load average %s at start. CPU and allocations are the whole\n", runtime.GOMAXPROCS(0), runtime.NumCPU(), load)
		fmt.Fprintf(stdout, "process's (both ends); ustack's CPU includes its shards' polling (%s).\n\n", pollingCost(pm))
		err = bench.WriteTable(stdout, rows)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ustack bench: %v\n", err)
		return 1
	}
	if ctx.Err() != nil {
		return 130
	}
	return 0
}

// mainSystems are the systems this binary runs itself.
var mainSystems = []string{bench.SystemKernel, bench.SystemUstackConn, bench.SystemUstackEvent}

func selectSystems(filter string, o ustacksys.Options) ([]bench.System, error) {
	make1 := func(name string) bench.System {
		switch name {
		case bench.SystemKernel:
			return bench.Kernel()
		case bench.SystemUstackConn:
			return ustacksys.Conn(o)
		case bench.SystemUstackEvent:
			return ustacksys.Event(o)
		}
		return nil
	}
	names := mainSystems
	if strings.TrimSpace(filter) != "" {
		names = nil
		for _, n := range strings.Split(filter, ",") {
			n = strings.TrimSpace(n)
			switch {
			case n == "":
				continue
			case n == bench.SystemGVisor:
				return nil, errors.New("gvisor runs from its own module (bench/peers) so this one never depends on it; use scripts/bench-all.sh")
			case make1(n) == nil:
				return nil, fmt.Errorf("unknown system %q (known: %s)", n, strings.Join(mainSystems, ","))
			}
			names = append(names, n)
		}
	}
	var out []bench.System
	for _, n := range mainSystems { // run in the canonical order
		for _, m := range names {
			if m == n {
				out = append(out, make1(n))
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no system selected")
	}
	return out, nil
}

// benchMerge reads row files and prints them as one table or array.
func benchMerge(files []string, asJSON bool, stdout, stderr io.Writer) int {
	if len(files) == 0 {
		fmt.Fprintln(stderr, "ustack bench --merge: give one or more JSON row files (- for stdin)")
		return 2
	}
	var sets [][]bench.Row
	for _, name := range files {
		var r io.Reader = os.Stdin
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				fmt.Fprintf(stderr, "ustack bench --merge: %v\n", err)
				return 1
			}
			defer f.Close()
			r = f
		}
		rows, err := bench.ReadJSON(r)
		if err != nil {
			fmt.Fprintf(stderr, "ustack bench --merge: %s: %v\n", name, err)
			return 1
		}
		sets = append(sets, rows)
	}
	rows := bench.Merge(sets...)
	var err error
	if asJSON {
		err = bench.WriteJSON(stdout, rows)
	} else {
		err = bench.WriteTable(stdout, rows)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ustack bench --merge: %v\n", err)
		return 1
	}
	return 0
}

// progress shows which workload runs: on a terminal one line rewritten in
// place, otherwise one line per run.
type progress struct {
	w    io.Writer
	term bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.term = true
		}
	}
	return p
}

func (p *progress) Write(b []byte) (int, error) {
	if !p.term {
		return p.w.Write(b)
	}
	line := strings.TrimRight(string(b), "\n")
	if _, err := fmt.Fprintf(p.w, "\r\033[K%s", line); err != nil {
		return 0, err
	}
	return len(b), nil
}

// done clears the in-place line.
func (p *progress) done() {
	if p.term {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// loadAverage is the 1-minute load average, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

func pollingCost(m shard.Mode) string {
	switch m {
	case shard.Busy:
		return "busy: each shard spins on a core"
	case shard.Interrupt:
		return "interrupt: shards park at once"
	}
	return fmt.Sprintf("adaptive: an idle shard spins %v before parking", shard.DefaultSpinTime)
}
