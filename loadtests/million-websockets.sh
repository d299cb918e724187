#!/usr/bin/env bash
# One million idle WebSocket connections on one machine (issue 19): the `wsscale` benchmark suite at
# full size, on loopback only. Results: loadtests/README.md ("One million idle WebSockets").
#
# What it does (loadtests/src/suites/wsscale.ts):
#   - EDGES edge processes share one port on 127.0.0.1 (`turnpike edge --port-group`, SO_REUSEPORT),
#     ~18,000 connections each: the open-files limit is 20,000 per process;
#   - ceil(TOTAL / 16,000) client processes of at most 16,000 connections, each from its own 16 source
#     addresses 127.<20+n>.0.1-16 (~1,000 connections per source address: no ephemeral-port exhaustion,
#     and the kernel's per-address port search stays short). They are the C client
#     (loadtests/src/websocket/idleClient.c, compiled with `cc` on first use; BENCH_WSS_CLIENT=node runs
#     the Node one, ~90 times the memory per connection);
#   - every connection passes a `$connect` route that subscribes it to topic "bench"; connections are
#     opened in two halves (the second half's memory is the marginal cost of a connection);
#   - then it waits until all are in the Redis registry, publishes once to the topic (every client
#     must receive it) and POSTs @connections to a sample of registered ids through the shared port.
#
# It stops by itself: the suite stops its edges and clients and deletes its Redis keys when done; if it
# fails, is interrupted or passes TIMEOUT seconds, the trap below kills its whole process group and
# deletes the keys under its prefix.
#
# Memory, from the runs recorded in loadtests/README.md: the edges run with --max-semi-space-size=4 and
# MALLOC_ARENA_MAX=1 (the suite's default, BENCH_EDGE_NODE_FLAGS / BENCH_EDGE_MALLOC_ARENA_MAX): ~90-100 MB
# RSS per idle edge process (~52 MB of it the node binary's code, shared by all of them), 130-140 MB with
# 18,000 connections right after the connect storm, ~100 MB once V8 has given the storm's memory back;
# the C client processes ~1 MB each and ~50 B per connection (the Node client's: ~47 MB and ~4.7 KB),
# and the kernel ~10 KB per connection (two sockets per loopback connection). The million needs ~18 GB
# (edges ~7.6 summed RSS, kernel ~10, C clients ~0.1): run it on a quiet machine.
#
# A watchdog stops the run (as TIMEOUT does) when the machine's MemAvailable falls below MIN_AVAILABLE_MB,
# so that a run too large for the machine ends as a failed benchmark, not in the kernel's OOM killer; it
# prints the lowest MemAvailable and the kernel's slab growth at the end (the total-memory figures).
#
# Usage: loadtests/million-websockets.sh [TOTAL] [EDGES]   (env: TIMEOUT seconds, default 3600;
#        MIN_AVAILABLE_MB, default 1024; BENCH_WSS_SAMPLE @connections sample, default 1000;
#        BENCH_WSS_CLIENT c or node, default c; REDIS_URL)
set -euo pipefail
TOTAL=${1:-1000000}
EDGES=${2:-$(( (TOTAL + 17999) / 18000 ))}
TIMEOUT=${TIMEOUT:-3600}
MIN_AVAILABLE_MB=${MIN_AVAILABLE_MB:-1024}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
cd "$(dirname "$0")/.."
# Each process needs its own open-files limit of ~20,000 (raise the soft limit to the hard one).
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt 20000 ]; then echo "open-files limit $(ulimit -n) < 20000" >&2; exit 1; fi
# Loopback source addresses 127.20.0.1-127.255.0.16 need no setup on Linux (all of 127/8 is local).
npm run build >/dev/null
export BENCH_WSS_PREFIX="bench-wss-million-$$"
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [ -n "${WATCH_PID:-}" ] && kill "$WATCH_PID" 2>/dev/null
  # The group outlives its leader if anything it started is left: check the group, not the leader.
  if [ -n "${BENCH_PID:-}" ] && kill -0 -- "-$BENCH_PID" 2>/dev/null; then
    echo "million-websockets: stopping what is left of process group $BENCH_PID" >&2
    kill -TERM -- "-$BENCH_PID" 2>/dev/null || true
    sleep 5
    kill -KILL -- "-$BENCH_PID" 2>/dev/null || true
  fi
  # Whatever the suite did not delete (a run that was interrupted): only this run's keys.
  redis-cli -u "$REDIS_URL" --scan --pattern "$BENCH_WSS_PREFIX:*" | xargs -r -n 1000 redis-cli -u "$REDIS_URL" UNLINK >/dev/null || true
  exit "$status"
}
trap cleanup EXIT INT TERM
started=$(date +%s)
# Its own process group (setsid), so the trap reaches the edges and clients it starts.
BENCH_WSS_TOTAL=$TOTAL BENCH_WSS_NODES=$EDGES BENCH_WSS_SAMPLE=${BENCH_WSS_SAMPLE:-1000} BENCH_WSS_CLIENT=${BENCH_WSS_CLIENT:-c} \
  setsid timeout --kill-after=30 "$TIMEOUT" npm run bench -- wsscale &
BENCH_PID=$!
meminfo() { awk -v k="$1:" '$1 == k { print int($2 / 1024) }' /proc/meminfo; }
slab_before=$(meminfo Slab)
peaks=$(mktemp)
echo "$(meminfo MemAvailable) $slab_before" >"$peaks"
(
  read -r lowest slab_peak <"$peaks"
  while kill -0 "$BENCH_PID" 2>/dev/null; do
    available=$(meminfo MemAvailable)
    slab=$(meminfo Slab)
    if [ "$available" -lt "$lowest" ] || [ "$slab" -gt "$slab_peak" ]; then
      [ "$available" -lt "$lowest" ] && lowest=$available
      [ "$slab" -gt "$slab_peak" ] && slab_peak=$slab
      echo "$lowest $slab_peak" >"$peaks"
    fi
    if [ "$available" -lt "$MIN_AVAILABLE_MB" ]; then
      echo "million-websockets: MemAvailable ${available} MB < MIN_AVAILABLE_MB=${MIN_AVAILABLE_MB}: stopping the run" >&2
      kill -TERM -- "-$BENCH_PID" 2>/dev/null
      break
    fi
    sleep 2
  done
) &
WATCH_PID=$!
status=0
wait "$BENCH_PID" || status=$?
read -r lowest slab_peak <"$peaks"
echo "million-websockets: TOTAL=$TOTAL EDGES=$EDGES done in $(( $(date +%s) - started )) s (exit $status); lowest MemAvailable $lowest MB of $(meminfo MemTotal) MB; kernel slab peak +$(( slab_peak - slab_before )) MB; leftover keys: $(redis-cli -u "$REDIS_URL" --scan --pattern "$BENCH_WSS_PREFIX:*" | wc -l)"
rm -f "$peaks"
exit "$status"
