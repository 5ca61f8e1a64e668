// Command peers runs ustack's benchmark workloads on other userspace TCP
// stacks, so far gVisor's netstack (gvisor.dev/gvisor/pkg/tcpip), and
// prints rows in the shape of `ustack bench --json`. It is a module of its
// own so that ustack never depends on gVisor; scripts/bench-all.sh runs it
// beside `ustack bench` and merges the two.
//
// Usage:
//
//	go run . [--json] [--duration D] [--workloads LIST]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/ustack/ustack/internal/bench"
)

func main() {
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("peers", flag.ContinueOnError)
	duration := fs.Duration("duration", 2*time.Second, "measured time per workload")
	workloads := fs.String("workloads", "", "comma-separated workloads (default all: "+bench.WorkloadNames()+")")
	asJSON := fs.Bool("json", false, "print one JSON array of rows instead of a table")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 || *duration <= 0 {
		fmt.Fprintln(os.Stderr, "peers: unexpected argument or non-positive --duration")
		return 2
	}
	wl, err := bench.SelectWorkloads(*workloads)
	if err != nil {
		fmt.Fprintf(os.Stderr, "peers: --workloads: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rows := bench.Run(ctx, []bench.System{GVisor()}, wl, bench.Params{Duration: *duration}, os.Stderr)
	if *asJSON {
		err = bench.WriteJSON(os.Stdout, rows)
	} else {
		err = bench.WriteTable(os.Stdout, rows)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "peers: %v\n", err)
		return 1
	}
	return 0
}
