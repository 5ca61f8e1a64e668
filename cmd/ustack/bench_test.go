package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two short benchmarks (about a second)")
	}
	var out, errb bytes.Buffer
	args := []string{"bench", "--duration", "200ms", "--workloads", "rtt", "--systems", "kernel,ustack-event", "--json"}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("stdout is not one JSON array: %v\n%s", err, out.String())
	}
	seen := map[string]bool{}
	for _, r := range rows {
		for _, k := range []string{"system", "workload", "metric", "value", "unit"} {
			if _, ok := r[k]; !ok {
				t.Fatalf("row lacks %q: %v", k, r)
			}
		}
		if r["workload"] != "rtt" {
			t.Errorf("row for workload %v, only rtt was asked for", r["workload"])
		}
		if v, ok := r["value"].(float64); !ok || v < 0 {
			t.Errorf("row %v: value is not a non-negative number", r)
		}
		seen[r["system"].(string)+"/"+r["metric"].(string)] = true
	}
	for _, s := range []string{"kernel", "ustack-event"} {
		for _, m := range []string{"p50_ns", "p99_ns", "p999_ns", "mean_ns", "cpu_s_per_op", "allocs_per_op"} {
			if !seen[s+"/"+m] {
				t.Errorf("no %s row for %s", m, s)
			}
		}
	}
	if len(seen) != 12 {
		t.Errorf("%d rows, want 12 (6 metrics for 2 systems)", len(seen))
	}
	if !strings.Contains(errb.String(), "ustack-event") || !strings.Contains(errb.String(), "rtt") {
		t.Errorf("no progress line on stderr: %q", errb.String())
	}

	// The rows merge back into a table beside a second file's.
	dir := t.TempDir()
	f := filepath.Join(dir, "rows.json")
	if err := os.WriteFile(f, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if code := run([]string{"bench", "--merge", f, f}, &table, &errb); code != 0 {
		t.Fatalf("merge exit %d: %s", code, errb.String())
	}
	if !strings.Contains(table.String(), "ustack-event") || !strings.Contains(table.String(), "(x") {
		t.Errorf("merged table:\n%s", table.String())
	}
}

func TestBenchFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--workloads", "nope"},
		{"bench", "--systems", "nope"},
		{"bench", "--systems", "gvisor"},
		{"bench", "--polling", "sometimes"},
		{"bench", "--link", "tap:ust0"},
		{"bench", "--link", "bogus"},
		{"bench", "--duration", "0s"},
		{"bench", "--merge"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, errb.String())
		}
		if errb.Len() == 0 {
			t.Errorf("%v: no error message", args)
		}
	}
}
