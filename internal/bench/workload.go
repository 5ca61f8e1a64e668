package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Kind is what a workload measures.
type Kind int

const (
	// RTT: one connection, 1-byte request and 1-byte response, one at a
	// time; each round trip is a latency sample.
	RTT Kind = iota
	// Bulk: one connection, the client writes as fast as it can and the
	// server reads; the figure is payload bits per second.
	Bulk
	// CPS: Clients loops each open a connection, send 1 byte, read the
	// 1-byte answer and close; the figure is connections per second.
	CPS
)

// Workload is one measured scenario.
type Workload struct {
	Name    string
	Kind    Kind
	Clients int  // concurrent clients (CPS)
	Large   bool // large frames: GSO-sized where the system can, else the largest MTU
}

// Workloads is every workload, in the order they run and print.
var Workloads = []Workload{
	{Name: "rtt", Kind: RTT, Clients: 1},
	{Name: "bulk-1500", Kind: Bulk, Clients: 1},
	{Name: "bulk-gso", Kind: Bulk, Clients: 1, Large: true},
	{Name: "cps-1", Kind: CPS, Clients: 1},
	{Name: "cps-64", Kind: CPS, Clients: 64},
}

// SelectWorkloads returns the workloads a comma-separated filter names,
// in Workloads order; an empty filter selects all.
func SelectWorkloads(filter string) ([]Workload, error) {
	if strings.TrimSpace(filter) == "" {
		return slices.Clone(Workloads), nil
	}
	want := map[string]bool{}
	for _, f := range strings.Split(filter, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !slices.ContainsFunc(Workloads, func(w Workload) bool { return w.Name == f }) {
			return nil, fmt.Errorf("unknown workload %q (known: %s)", f, WorkloadNames())
		}
		want[f] = true
	}
	var out []Workload
	for _, w := range Workloads {
		if want[w.Name] {
			out = append(out, w)
		}
	}
	return out, nil
}

// WorkloadNames lists the workload names, comma-separated.
func WorkloadNames() string {
	names := make([]string, len(Workloads))
	for i, w := range Workloads {
		names[i] = w.Name
	}
	return strings.Join(names, ",")
}

// Params are the knobs every run shares.
type Params struct {
	// Duration is the measured window of each workload.
	Duration time.Duration
	// Warmup runs before the window (handshakes done, windows opened,
	// caches warm) and is not measured.
	Warmup time.Duration
}

// DefaultWarmup is the warm-up Run uses for a measured window of d.
func DefaultWarmup(d time.Duration) time.Duration {
	return min(max(d/8, 50*time.Millisecond), time.Second)
}

// Result is one workload's measurement on one system.
type Result struct {
	Lat   Hist  // RTT: one sample per round trip
	Ops   int64 // round trips, connections, or payload bytes (Bulk)
	Usage Usage // over the measured window
	// Errors counts failed operations inside the window (CPS dials that
	// failed, for example); FirstErr is the first of them.
	Errors   int64
	FirstErr error
	// Note qualifies the figures (configuration that differs from the
	// workload's name, for example).
	Note string
}

// System runs workloads on one TCP implementation.
type System interface {
	Name() string
	// Run sets up, runs w (warm-up, then the measured window) and tears
	// down. An error means no figure: the rows are printed as missing with
	// the error as their note.
	Run(ctx context.Context, w Workload, p Params) (*Result, error)
}

// ErrUnavailable is wrapped by Run errors meaning the system cannot run
// the workload in this build (as opposed to failing while running it).
var ErrUnavailable = errors.New("not available")

// Rows turns a result into rows.
func Rows(system string, w Workload, r *Result) []Row {
	var rows []Row
	add := func(metric string, v float64, unit string) {
		rows = append(rows, Row{System: system, Workload: w.Name, Metric: metric, Value: value(v), Unit: unit, Note: r.Note})
	}
	ops := float64(r.Ops)
	op := "op"
	switch w.Kind {
	case RTT:
		op = "round-trip"
		add(MetricP50, r.Lat.Quantile(0.50), "ns")
		add(MetricP99, r.Lat.Quantile(0.99), "ns")
		add(MetricP999, r.Lat.Quantile(0.999), "ns")
		add(MetricMean, r.Lat.Mean(), "ns")
	case Bulk:
		// One op is one MiB of payload, so CPU and allocations per op
		// compare directly across systems.
		op = "MiB"
		add(MetricBits, 8*ops/r.Usage.Wall.Seconds(), "bit/s")
		ops /= 1 << 20
	case CPS:
		op = "conn"
		add(MetricConns, ops/r.Usage.Wall.Seconds(), "conn/s")
	}
	perOp := func(x float64) float64 {
		if ops <= 0 {
			return math.NaN()
		}
		return x / ops
	}
	add(MetricCPU, perOp(r.Usage.CPU.Seconds()), "cpu-s/"+op)
	add(MetricAllocs, perOp(float64(r.Usage.Allocs)), "allocs/"+op)
	if r.Errors > 0 {
		note := fmt.Sprintf("%d operations failed in the window (first: %v)", r.Errors, r.FirstErr)
		if r.Note != "" {
			note = r.Note + "; " + note
		}
		for i := range rows {
			rows[i].Note = note
		}
	}
	return rows
}

// MissingRows are the rows of a workload a system could not run.
func MissingRows(system string, w Workload, why string) []Row {
	var metrics []string
	switch w.Kind {
	case RTT:
		metrics = []string{MetricP50, MetricP99, MetricP999, MetricMean}
	case Bulk:
		metrics = []string{MetricBits}
	case CPS:
		metrics = []string{MetricConns}
	}
	metrics = append(metrics, MetricCPU, MetricAllocs)
	rows := make([]Row, len(metrics))
	for i, m := range metrics {
		rows[i] = Row{System: system, Workload: w.Name, Metric: m, Unit: unitOf(w, m), Note: why}
	}
	return rows
}

func unitOf(w Workload, metric string) string {
	op := map[Kind]string{RTT: "round-trip", Bulk: "MiB", CPS: "conn"}[w.Kind]
	switch metric {
	case MetricBits:
		return "bit/s"
	case MetricConns:
		return "conn/s"
	case MetricCPU:
		return "cpu-s/" + op
	case MetricAllocs:
		return "allocs/" + op
	}
	return "ns"
}

// Run runs every workload on every system, workload by workload (so the
// systems of one workload run close together in time), writing a progress
// line per run to progress (nil for none), and returns the rows.
func Run(ctx context.Context, systems []System, workloads []Workload, p Params, progress io.Writer) []Row {
	if p.Warmup == 0 {
		p.Warmup = DefaultWarmup(p.Duration)
	}
	var rows []Row
	total, i := len(systems)*len(workloads), 0
	for _, w := range workloads {
		for _, s := range systems {
			i++
			if ctx.Err() != nil {
				rows = append(rows, MissingRows(s.Name(), w, "interrupted")...)
				continue
			}
			if progress != nil {
				fmt.Fprintf(progress, "bench [%d/%d] %-12s %-9s (%v + %v warm-up)\n", i, total, s.Name(), w.Name, p.Duration, p.Warmup)
			}
			// Collect the previous run's garbage now, so that its GC
			// work is not charged to this system's window.
			runtime.GC()
			sw := startStallWatch()
			r, err := s.Run(ctx, w, p)
			stall := sw.Stop()
			if err != nil {
				rows = append(rows, MissingRows(s.Name(), w, joinNotes([]string{err.Error(), stall}))...)
				continue
			}
			r.Note = joinNotes([]string{r.Note, stall})
			rows = append(rows, Rows(s.Name(), w, r)...)
		}
	}
	return rows
}
