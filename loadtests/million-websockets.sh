#!/usr/bin/env bash
# One million idle WebSocket connections on one machine (issue 19): the `wsscale` benchmark suite at
# full size. NOT RUN on the shared development machine (load average 20-40); run it on a quiet box.
#
# What it does (loadtests/src/suites/wsscale.ts):
#   - 56 edge processes share one port (`turnpike edge --port-group`, SO_REUSEPORT), ~17,900 each:
#     the open-files limit is 20,000 per process;
#   - 63 client processes of 16,000 connections, each from its own 16 source addresses
#     127.<20+n>.0.1-16 (~1,000 connections per source address: no ephemeral-port exhaustion, and the
#     kernel's per-address port search stays short);
#   - every connection passes a `$connect` route that subscribes it to topic "bench";
#   - then it waits until all are in the Redis registry, publishes once to the topic (every client
#     must receive it) and POSTs @connections to a sample of registered ids through the shared port.
#
# Expected, scaled from the 20,000-connection run recorded in loadtests/README.md (2 edges):
#   edge RSS: 56 x ~140 MB at start + ~2-3 KB per connection = ~8 GB + ~2.5 GB = ~10-11 GB;
#   clients: 63 Node processes, ~2.5 GB; Redis: ~1M hashes of ~200 B = ~300 MB;
#   24 GB is enough; the connect rate is bounded by the 2 cores (~1,200-10,000/s seen at 20,000-100,000:
#   expect 2-15 min to connect all); one topic publish fans out to 1M sockets in a few seconds.
#
# Usage: loadtests/million-websockets.sh [TOTAL] [EDGES]
set -euo pipefail
TOTAL=${1:-1000000}
EDGES=${2:-$(( (TOTAL + 17999) / 18000 ))}
cd "$(dirname "$0")/.."
# Each process needs its own open-files limit of ~20,000 (raise the soft limit to the hard one).
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt 20000 ]; then echo "open-files limit $(ulimit -n) < 20000" >&2; exit 1; fi
# Loopback source addresses 127.20.0.1-127.255.0.16 need no setup on Linux (all of 127/8 is local).
BENCH_WSS_TOTAL=$TOTAL BENCH_WSS_NODES=$EDGES BENCH_WSS_SAMPLE=${BENCH_WSS_SAMPLE:-1000} npm run bench -- wsscale
