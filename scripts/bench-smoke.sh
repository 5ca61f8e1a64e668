#!/usr/bin/env bash
# Smoke test for the benchmark's peer module (bench/peers, gVisor): downloads
# its dependencies, vets and builds it, runs one short workload and checks
# that `ustack bench --merge` accepts its rows beside ustack's. Not part of
# `go test ./...` (the peer is a separate module and needs the module proxy).
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== go mod download (bench/peers)"
start=$(date +%s.%N)
(cd bench/peers && go mod download)
echo "   took $(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo '?') s"
echo "== go vet / go build (bench/peers)"
(cd bench/peers && go vet . && go build -o "$tmp/peers" .)
echo "== gofmt (bench/peers)"
bad=$(gofmt -l bench/peers)
if [ -n "$bad" ]; then echo "not gofmt-formatted: $bad"; exit 1; fi
echo "== short runs"
"$tmp/peers" --json --duration 100ms --workloads rtt >"$tmp/gvisor.json"
go run ./cmd/ustack bench --json --duration 100ms --workloads rtt --systems kernel >"$tmp/ustack.json"
go run ./cmd/ustack bench --merge "$tmp/ustack.json" "$tmp/gvisor.json" | tee "$tmp/table.txt"
for s in kernel gvisor; do
	grep -q "$s" "$tmp/table.txt" || { echo "bench-smoke: no $s column in the merged table"; exit 1; }
done
if grep -q 'n/a' "$tmp/table.txt"; then
	echo "bench-smoke: a figure is missing"
	exit 1
fi
echo "bench-smoke: ok"
