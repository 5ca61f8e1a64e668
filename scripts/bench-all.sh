#!/usr/bin/env bash
# Runs the benchmark on every system side by side: `ustack bench --json`
# (kernel, ustack-conn, ustack-event) and the gVisor peer in bench/peers (a
# module of its own, so ustack never depends on gVisor), then merges both
# row sets into one table with `ustack bench --merge` (no jq needed).
#
# Usage: scripts/bench-all.sh [--duration D] [--workloads LIST] [--json] [other ustack bench flags]
#   --duration and --workloads go to both; --json prints the merged rows as
#   one JSON array instead of a table; any other flag (--systems, --polling,
#   --link, --cpuprofile) goes to `ustack bench` only.
# The first run downloads gVisor's module (a few seconds from the proxy).
set -euo pipefail
cd "$(dirname "$0")/.."

common=()
ustack_only=()
out=()
while [ $# -gt 0 ]; do
	case "$1" in
	--duration | --workloads | -duration | -workloads)
		[ $# -ge 2 ] || { echo "bench-all: $1 needs a value" >&2; exit 2; }
		common+=("$1" "$2")
		shift 2
		;;
	--duration=* | --workloads=* | -duration=* | -workloads=*)
		common+=("$1")
		shift
		;;
	--json | -json)
		out+=(--json)
		shift
		;;
	*)
		ustack_only+=("$1")
		shift
		;;
	esac
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go run ./cmd/ustack bench --json "${common[@]}" "${ustack_only[@]}" >"$tmp/ustack.json"
(cd bench/peers && go run . --json "${common[@]}") >"$tmp/gvisor.json"
go run ./cmd/ustack bench --merge "${out[@]}" "$tmp/ustack.json" "$tmp/gvisor.json"
