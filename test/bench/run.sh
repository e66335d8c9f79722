#!/usr/bin/env bash
# npm run bench: builds what the benchmarks need and runs them in the kernel guest, where every cgroup v2
# controller exists. Prints JSON lines and tables.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v cgcreate >/dev/null || { [ "$(id -u)" -eq 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cgroup-tools >&2; }
make -s -C native all bench
npx tsc -p tsconfig.json
bash test/kernel/run.sh --timeout 1800 -- bash -c 'echo "+cpu +cpuset +io +memory +pids" > /sys/fs/cgroup/cgroup.subtree_control && GOVERNOR_TEST_CGROUP2=/sys/fs/cgroup node dist/test/bench/reconcile.bench.js'
