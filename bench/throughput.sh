#!/usr/bin/env bash
# End-to-end throughput of meshguard against wireguard-go and Nebula, side by side in one run
# (root; Nebula needs `apt install nebula`).
# Usage: bench/throughput.sh [seconds per test, default 10] [--udp-only] [--pin SENDER_CPU,RECEIVER_CPU]
set -euo pipefail
cd "$(dirname "$0")/.."
exec deno run --no-prompt --allow-run --allow-read --allow-write --allow-sys=uid,loadavg \
  bench/throughput.ts "$@"
