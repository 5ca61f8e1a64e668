package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// metricOrder is the order metrics print in within a workload.
var metricOrder = []string{MetricP50, MetricP99, MetricP999, MetricMean, MetricBits, MetricConns, MetricCPU, MetricAllocs}

// WriteTable prints rows as a table: one line per workload and metric, one
// column per system, each non-baseline figure followed by its ratio to the
// baseline system's (the kernel's) figure. Notes follow the table, and a
// cell whose row carries one is marked with its number.
func WriteTable(w io.Writer, rows []Row) error {
	systems := orderedSystems(rows)
	type key struct{ w, m string }
	cells := map[key]map[string]Row{}
	var keys []key
	for _, r := range rows {
		k := key{r.Workload, r.Metric}
		if cells[k] == nil {
			cells[k] = map[string]Row{}
			keys = append(keys, k)
		}
		cells[k][r.System] = r
	}
	wl := workloadRank(rows)
	slices.SortStableFunc(keys, func(a, b key) int {
		if a.w != b.w {
			return wl[a.w] - wl[b.w]
		}
		return rank(metricOrder, a.m) - rank(metricOrder, b.m)
	})

	var notes []string
	noteNum := map[string]int{}
	mark := func(r Row) string {
		if r.Note == "" {
			return ""
		}
		text := r.System + " " + r.Workload + ": " + r.Note
		n, ok := noteNum[text]
		if !ok {
			notes = append(notes, text)
			n = len(notes)
			noteNum[text] = n
		}
		return fmt.Sprintf(" [%d]", n)
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "workload\tmetric\t%s\n", strings.Join(systems, "\t"))
	for _, k := range keys {
		line := []string{k.w, metricLabel(k.m)}
		base, hasBase := cells[k][systems[0]]
		for i, s := range systems {
			r, ok := cells[k][s]
			switch {
			case !ok:
				line = append(line, "")
			case r.Missing():
				line = append(line, "n/a"+mark(r))
			default:
				c := formatValue(r.Metric, *r.Value)
				if i > 0 && hasBase && !base.Missing() && ratioMeaningful(k.m, *base.Value) {
					c += fmt.Sprintf(" (%s)", formatRatio(*r.Value / *base.Value))
				}
				line = append(line, c+mark(r))
			}
		}
		fmt.Fprintln(tw, strings.Join(line, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(systems) > 1 {
		fmt.Fprintf(w, "\n(x) = figure / %s figure. Lower is better for latency, CPU and allocations; higher for bits/s and conn/s.\n", systems[0])
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for i, n := range notes {
			fmt.Fprintf(w, "  [%d] %s\n", i+1, n)
		}
	}
	return nil
}

func orderedSystems(rows []Row) []string {
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.System] = true
	}
	var out []string
	for _, s := range SystemOrder {
		if seen[s] {
			out = append(out, s)
			delete(seen, s)
		}
	}
	for _, r := range rows { // unknown systems last, in order of appearance
		if seen[r.System] {
			out = append(out, r.System)
			delete(seen, r.System)
		}
	}
	if len(out) == 0 {
		out = []string{SystemKernel}
	}
	return out
}

// workloadRank orders workloads as Workloads lists them, unknown ones after
// in order of appearance.
func workloadRank(rows []Row) map[string]int {
	m := map[string]int{}
	for i, w := range Workloads {
		m[w.Name] = i
	}
	next := len(Workloads)
	for _, r := range rows {
		if _, ok := m[r.Workload]; !ok {
			m[r.Workload] = next
			next++
		}
	}
	return m
}

func rank(order []string, s string) int {
	if i := slices.Index(order, s); i >= 0 {
		return i
	}
	return len(order)
}

func metricLabel(m string) string {
	switch m {
	case MetricP50:
		return "p50"
	case MetricP99:
		return "p99"
	case MetricP999:
		return "p99.9"
	case MetricMean:
		return "mean"
	case MetricBits:
		return "throughput"
	case MetricConns:
		return "conn/s"
	case MetricCPU:
		return "CPU/op"
	case MetricAllocs:
		return "allocs/op"
	}
	return m
}

func formatValue(metric string, v float64) string {
	switch metric {
	case MetricP50, MetricP99, MetricP999, MetricMean:
		return formatDuration(v)
	case MetricCPU:
		return formatDuration(v * 1e9)
	case MetricBits:
		switch {
		case v >= 1e9:
			return fmt.Sprintf("%.2f Gbit/s", v/1e9)
		case v >= 1e6:
			return fmt.Sprintf("%.1f Mbit/s", v/1e6)
		}
		return fmt.Sprintf("%.0f bit/s", v)
	case MetricConns:
		if v >= 1e4 {
			return fmt.Sprintf("%.1fk", v/1e3)
		}
		return fmt.Sprintf("%.0f", v)
	case MetricAllocs:
		if v >= 100 {
			return fmt.Sprintf("%.0f", v)
		}
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.4g", v)
}

// formatDuration prints nanoseconds with three significant digits.
func formatDuration(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.3gs", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.3gms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.3gµs", ns/1e3)
	}
	return fmt.Sprintf("%.3gns", ns)
}

func formatRatio(r float64) string {
	if r >= 10 {
		return fmt.Sprintf("x%.0f", r)
	}
	return fmt.Sprintf("x%.2f", r)
}

// ratioMeaningful: a ratio to a baseline that rounds to zero says nothing
// (allocations per op of 0.00 against 0.55).
func ratioMeaningful(metric string, base float64) bool {
	if metric == MetricAllocs {
		return base >= 0.01
	}
	return base != 0
}
