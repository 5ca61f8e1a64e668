#!/usr/bin/env bash
# Runs every check and test ustack has. As root it first installs the packages
# the tests need (scripts/install-deps.sh) and runs the tests that need root
# (network namespaces, TAP, AF_PACKET, AF_XDP); as another user those skip and
# say why. With CI=true, a test that would skip for a missing tool fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
bash scripts/install-deps.sh
export PATH="$PATH:$(go env GOPATH)/bin"

echo "== gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$bad" ]; then echo "not gofmt-formatted:"; echo "$bad"; exit 1; fi
echo "== go vet"
go vet ./...
echo "== staticcheck"
staticcheck ./...
echo "== go test"
go test -count=1 -timeout 20m ./...
echo "== go test -race -short (packages with goroutines: links, shard, sockets)"
# -short shrinks the simulator's 64 MiB transfers, which the plain run above
# already does at full size; everything concurrent still runs under -race.
go test -count=1 -race -short -timeout 20m . ./link/... ./shard/... ./sim/... ./udp/...
