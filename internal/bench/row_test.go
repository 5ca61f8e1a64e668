package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func sampleResult() *Result {
	r := &Result{Ops: 1000, Usage: Usage{Wall: time.Second, CPU: 500 * time.Millisecond, Allocs: 3000}}
	for i := 1; i <= 1000; i++ {
		r.Lat.Record(time.Duration(i) * time.Microsecond)
	}
	return r
}

func TestRowsJSONShape(t *testing.T) {
	var rows []Row
	for _, w := range Workloads {
		rows = append(rows, Rows(SystemKernel, w, sampleResult())...)
	}
	rows = append(rows, MissingRows(SystemUstackConn, Workloads[0], "not built")...)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rows); err != nil {
		t.Fatal(err)
	}
	var generic []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &generic); err != nil {
		t.Fatalf("output is not one JSON array: %v\n%s", err, buf.Bytes())
	}
	if len(generic) != len(rows) {
		t.Fatalf("%d JSON rows, want %d", len(generic), len(rows))
	}
	metrics := map[string]bool{MetricP50: true, MetricP99: true, MetricP999: true, MetricMean: true, MetricBits: true, MetricConns: true, MetricCPU: true, MetricAllocs: true}
	for i, g := range generic {
		for _, k := range []string{"system", "workload", "metric", "value", "unit"} {
			if _, ok := g[k]; !ok {
				t.Fatalf("row %d lacks %q: %v", i, k, g)
			}
		}
		if !metrics[g["metric"].(string)] {
			t.Errorf("row %d: unknown metric %v", i, g["metric"])
		}
		if g["system"] == SystemUstackConn {
			if g["value"] != nil || g["note"] != "not built" {
				t.Errorf("missing row %d: value %v note %v, want null and the reason", i, g["value"], g["note"])
			}
		} else if _, ok := g["value"].(float64); !ok {
			t.Errorf("row %d: value %v is not a number", i, g["value"])
		}
	}
	back, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(rows) || back[0].System != rows[0].System || *back[0].Value != *rows[0].Value {
		t.Fatalf("JSON round trip changed the rows")
	}
}

func TestRowsFigures(t *testing.T) {
	get := func(rows []Row, m string) Row {
		i := slices.IndexFunc(rows, func(r Row) bool { return r.Metric == m })
		if i < 0 {
			t.Fatalf("no %s row in %v", m, rows)
		}
		return rows[i]
	}
	rtt := Rows(SystemKernel, Workloads[0], sampleResult())
	if v := *get(rtt, MetricP50).Value; v < 499_000 || v > 501_000 {
		t.Errorf("p50 of 1..1000 µs = %v ns", v)
	}
	if v := *get(rtt, MetricMean).Value; v != 500_500 {
		t.Errorf("mean of 1..1000 µs = %v ns", v)
	}
	if r := get(rtt, MetricCPU); *r.Value != 0.0005 || r.Unit != "cpu-s/round-trip" {
		t.Errorf("cpu per op %v %s, want 0.0005 cpu-s/round-trip", *r.Value, r.Unit)
	}
	if v := *get(rtt, MetricAllocs).Value; v != 3 {
		t.Errorf("allocs per op %v, want 3", v)
	}
	bulk := Rows(SystemKernel, Workloads[1], &Result{Ops: 1 << 30, Usage: Usage{Wall: 2 * time.Second, CPU: time.Second, Allocs: 1024}})
	if r := get(bulk, MetricBits); *r.Value != 8*(1<<30)/2 || r.Unit != "bit/s" {
		t.Errorf("bulk bits/s %v %s", *r.Value, r.Unit)
	}
	if r := get(bulk, MetricAllocs); *r.Value != 1 || r.Unit != "allocs/MiB" {
		t.Errorf("bulk allocs %v %s, want 1 allocs/MiB", *r.Value, r.Unit)
	}
	cps := Rows(SystemKernel, Workloads[4], &Result{Ops: 500, Usage: Usage{Wall: time.Second / 2}, Errors: 2, FirstErr: errors.New("refused")})
	if r := get(cps, MetricConns); *r.Value != 1000 || !strings.Contains(r.Note, "2 operations failed") {
		t.Errorf("cps %v, note %q", *r.Value, r.Note)
	}
	empty := Rows(SystemKernel, Workloads[0], &Result{})
	if !get(empty, MetricP50).Missing() || !get(empty, MetricCPU).Missing() {
		t.Error("a result without samples gives figures")
	}
}

func TestMergeAndTable(t *testing.T) {
	k := Rows(SystemKernel, Workloads[0], sampleResult())
	fast := sampleResult()
	fast.Lat.Reset()
	for i := 1; i <= 1000; i++ {
		fast.Lat.Record(time.Duration(i) * 500 * time.Nanosecond)
	}
	e := Rows(SystemUstackEvent, Workloads[0], fast)
	g := MissingRows(SystemGVisor, Workloads[0], "peer not run")
	merged := Merge(e, g, k, k) // duplicates collapse
	if len(merged) != len(k)+len(e)+len(g) {
		t.Fatalf("merged %d rows, want %d", len(merged), len(k)+len(e)+len(g))
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, merged); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	header := strings.SplitN(out, "\n", 2)[0]
	if !(strings.Index(header, "kernel") < strings.Index(header, "ustack-event") && strings.Index(header, "ustack-event") < strings.Index(header, "gvisor")) {
		t.Errorf("columns not in kernel, ustack-event, gvisor order: %q", header)
	}
	for _, want := range []string{"p99.9", "500µs", "250µs (x0.50)", "n/a [1]", "[1] gvisor rtt: peer not run"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestSelectWorkloads(t *testing.T) {
	all, err := SelectWorkloads("")
	if err != nil || len(all) != len(Workloads) {
		t.Fatalf("empty filter: %v, %v", all, err)
	}
	two, err := SelectWorkloads("cps-64, rtt")
	if err != nil || len(two) != 2 || two[0].Name != "rtt" || two[1].Name != "cps-64" {
		t.Fatalf("filter rtt,cps-64: %v, %v", two, err)
	}
	if _, err := SelectWorkloads("rtt,nope"); err == nil {
		t.Fatal("unknown workload accepted")
	}
}
