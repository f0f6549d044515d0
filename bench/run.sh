#!/usr/bin/env bash
# The benchmarks (npm run bench): installs what they need like the test script does (workspace,
# redis-server, the Collector, wrk), then runs packages/bench. Arguments pass through:
#   bash bench/run.sh              all five, 3 repetitions, writes docs/benchmarks.md (< 10 min on 2 cores)
#   bash bench/run.sh --quick      a smoke run in seconds; writes nothing unless --out FILE
#   bash bench/run.sh --only 1,4   some of them
source "$(dirname "$0")/../scripts/lib.sh"
# The benchmarks run on the images' Node (24).
ensure_node
bootstrap_workspace
bash "$ROOT/scripts/tools/10-redis.sh"
bash "$ROOT/scripts/tools/20-collector.sh"
bash "$ROOT/scripts/tools/10-wrk.sh"
cd "$ROOT"
exec node packages/bench/dist/src/main.js "$@"
