#!/usr/bin/env bash
# Installs, as root, the system packages ustack's tests use: tshark (reads the
# pcapng captures back), iproute2 (namespaces and veth pairs for the real-path
# tests), iputils-ping (the kernel side of the link interop tests), curl, and the Go tools the checks run. Safe to run more than once.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: not root; skipping apt packages (tests needing them will skip)" >&2
else
	need=()
	command -v tshark >/dev/null 2>&1 || need+=(tshark)
	command -v ip >/dev/null 2>&1 || need+=(iproute2)
	command -v curl >/dev/null 2>&1 || need+=(curl)
	command -v ping >/dev/null 2>&1 || need+=(iputils-ping)
	command -v nft >/dev/null 2>&1 || need+=(nftables)
	command -v ethtool >/dev/null 2>&1 || need+=(ethtool)
	if [ ${#need[@]} -gt 0 ]; then
		export DEBIAN_FRONTEND=noninteractive
		echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	fi
fi

export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
go mod download
if ! command -v staticcheck >/dev/null 2>&1; then
	go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
