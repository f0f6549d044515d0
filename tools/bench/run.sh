#!/usr/bin/env bash
# The benchmarks (npm run bench): installs what they need like the test script does (workspace,
# redis-server, the Collector, wrk), then runs tools/bench. Arguments pass through:
#   bash tools/bench/run.sh              all eight, 3 repetitions, writes docs/benchmarks.md (~30 min on 2 cores; the first
#                                  run also installs and builds the "before" baseline, tools/bench/baseline.sh)
#   bash tools/bench/run.sh --quick      a smoke run in seconds; writes nothing unless --out FILE
#   bash tools/bench/run.sh --only 1,4   some of them
#   bash tools/bench/run.sh --only 6 --out /tmp/runtimes.md   Node 20 vs 24 vs 24 without AsyncContextFrame (~10 min);
#                                  --runtimes node20,node24-no-acf,node24 names them (default: those found)
source "$(dirname "$0")/../../scripts/lib.sh"
# The benchmarks run on the images' Node (24); benchmark 6 also runs the mesh on the machine's (TRACEMESH_MACHINE_NODE).
ensure_node
bootstrap_workspace
bash "$ROOT/scripts/tools/10-redis.sh"
bash "$ROOT/scripts/tools/20-collector.sh"
bash "$ROOT/scripts/tools/10-wrk.sh"
bash "$ROOT/scripts/tools/32-vegeta.sh"
cd "$ROOT"
exec node tools/bench/dist/src/main.js "$@"
