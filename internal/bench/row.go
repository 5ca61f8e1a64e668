package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
)

// System names, as they appear in rows.
const (
	SystemKernel      = "kernel"
	SystemUstackConn  = "ustack-conn"
	SystemUstackEvent = "ustack-event"
	SystemGVisor      = "gvisor"
)

// SystemOrder is the column order of tables; the first is the baseline
// every ratio is taken against.
var SystemOrder = []string{SystemKernel, SystemUstackConn, SystemUstackEvent, SystemGVisor}

// Metric names, as they appear in rows.
const (
	MetricP50    = "p50_ns"
	MetricP99    = "p99_ns"
	MetricP999   = "p999_ns"
	MetricMean   = "mean_ns"
	MetricBits   = "bits_per_s"
	MetricConns  = "conn_per_s"
	MetricCPU    = "cpu_s_per_op"
	MetricAllocs = "allocs_per_op"
)

// Row is one figure: the unit of JSON output and of merging.
type Row struct {
	System   string `json:"system"`
	Workload string `json:"workload"`
	Metric   string `json:"metric"`
	// Value is the figure; nil (JSON null) when the system could not run
	// the workload, and then Note says why.
	Value *float64 `json:"value"`
	Unit  string   `json:"unit"`
	// Note qualifies the figure (for example how a large-frame run was
	// configured) or explains a missing one.
	Note string `json:"note,omitempty"`
}

// Missing reports whether the row has no value.
func (r Row) Missing() bool { return r.Value == nil }

func value(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// WriteJSON writes rows as one JSON array, one row per line.
func WriteJSON(w io.Writer, rows []Row) error {
	if _, err := io.WriteString(w, "[\n"); err != nil {
		return err
	}
	for i, r := range rows {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		sep := ",\n"
		if i == len(rows)-1 {
			sep = "\n"
		}
		if _, err := fmt.Fprintf(w, "  %s%s", b, sep); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "]\n")
	return err
}

// ReadJSON reads one JSON array of rows and checks each has the fields a
// row must have.
func ReadJSON(r io.Reader) ([]Row, error) {
	var rows []Row
	if err := json.NewDecoder(r).Decode(&rows); err != nil {
		return nil, fmt.Errorf("bench: reading rows: %w", err)
	}
	for i, row := range rows {
		if row.System == "" || row.Workload == "" || row.Metric == "" {
			return nil, fmt.Errorf("bench: row %d lacks system, workload or metric", i)
		}
	}
	return rows, nil
}

// Merge concatenates row sets; a later row with the same system, workload
// and metric replaces an earlier one.
func Merge(sets ...[]Row) []Row {
	type key struct{ s, w, m string }
	at := map[key]int{}
	var out []Row
	for _, set := range sets {
		for _, r := range set {
			k := key{r.System, r.Workload, r.Metric}
			if i, ok := at[k]; ok {
				out[i] = r
				continue
			}
			at[k] = len(out)
			out = append(out, r)
		}
	}
	return out
}
