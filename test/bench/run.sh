#!/usr/bin/env bash
# npm run bench: builds what the benchmarks need and runs them. Each prints one JSON line and a table.
#  - on this host (as root; real cgroup v2 core, namespaces, veth): workload spawn, tenant network setup and
#    the embedded database (memory, cold start, throughput), and a whole governor's no-op pass;
#  - in the kernel guest, where every cgroup v2 controller exists: reconcile (the cgroup driver, then the whole
#    reconciler) and /metrics scrape cost.
# The scrape benchmark runs in both: here with the core files only, in the guest with every controller's files.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v cgcreate >/dev/null || { [ "$(id -u)" -eq 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cgroup-tools >&2; }
# bubblewrap: the reference the isolation benchmark starts /bin/true with, every namespace made per start.
command -v bwrap >/dev/null || { [ "$(id -u)" -eq 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap >&2; }
# crun: the isolation benchmark's second reference, in the kernel guest (the guest shares this host's root).
command -v crun >/dev/null || { [ "$(id -u)" -eq 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends crun >&2; }
make -s -C native all bench
npx tsc -p tsconfig.json

[ "$(id -u)" -eq 0 ] || { echo "bench: the host benchmarks make cgroups, namespaces and veths: run as root" >&2; exit 1; }
# The host's cgroup2 mount (/sys/fs/cgroup/unified on a hybrid host) unless the caller names one.
host_cgroup2="${GOVERNOR_TEST_CGROUP2:-$(findmnt -rn -t cgroup2 -o TARGET | head -n 1)}"
[ -n "$host_cgroup2" ] || { echo "bench: no cgroup2 filesystem is mounted on this host" >&2; exit 1; }
GOVERNOR_TEST_CGROUP2="$host_cgroup2" node dist/test/bench/workload.bench.js
GOVERNOR_TEST_CGROUP2="$host_cgroup2" node dist/test/bench/isolation.bench.js
# A tenant init's start beside 100 tenants (its launcher copies the mount template, not the host's namespace).
GOVERNOR_TEST_CGROUP2="$host_cgroup2" node dist/test/bench/init-start.bench.js
# What an async native call costs the event loop by how many are in flight: the koffi gate against koffi's defaults.
node dist/test/bench/native-calls.bench.js
node dist/test/bench/network.bench.js
# The tenant firewall at 100, 1,000 and 5,000 tenants: apply, arrival, departure, listing, the event loop meanwhile,
# and what the table costs every packet (loopback pings with and without it).
node dist/test/bench/firewall.bench.js
GOVERNOR_TEST_CGROUP2="$host_cgroup2" node dist/test/bench/metrics.bench.js
node dist/test/bench/database.bench.js
# The whole governor's no-op pass (process starts, writes, CPU) with real tenant networks on this host.
GOVERNOR_TEST_CGROUP2="$host_cgroup2" node dist/test/bench/noop-pass.bench.js
# Issue 13's API goals: GET /v1/tenants/{name} from 32 clients and /metrics while 1,000 tenants resync.
GOVERNOR_TEST_CGROUP2="$host_cgroup2" node dist/test/bench/api-load.bench.js

bash test/kernel/run.sh --timeout 1800 -- bash -c 'echo "+cpu +cpuset +io +memory +pids" > /sys/fs/cgroup/cgroup.subtree_control && GOVERNOR_TEST_CGROUP2=/sys/fs/cgroup node dist/test/bench/reconcile.bench.js && GOVERNOR_BENCH_TENANTS=100,1000 GOVERNOR_TEST_CGROUP2=/sys/fs/cgroup node dist/test/bench/metrics.bench.js && GOVERNOR_BENCH_CRUN=1 GOVERNOR_TEST_CGROUP2=/sys/fs/cgroup node dist/test/bench/isolation.bench.js'
# The whole reconciler (issue 13) in the guest: a real governor over 100 and 1,000 tenants against the floor of
# floor.c plus iproute2, PostgreSQL in the guest, the tenants' home images on a disk of their own (the disk and
# memory the README's 1,000-tenant figures were measured with).
GOVERNOR_GUEST_POSTGRES=1 GOVERNOR_BENCH_TENANTS="${GOVERNOR_BENCH_TENANTS:-100,1000}" bash test/kernel/run.sh --disk 8192 --mem 8192 --timeout 7200 -- bash -c 'echo "+cpu +cpuset +io +memory +pids" > /sys/fs/cgroup/cgroup.subtree_control && modprobe loop && mkfs.ext4 -q /dev/vda && mkdir -p /tmp/bench-data && mount /dev/vda /tmp/bench-data && GOVERNOR_BENCH_DATA_DIR=/tmp/bench-data GOVERNOR_TEST_CGROUP2=/sys/fs/cgroup GOVERNOR_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node dist/test/bench/whole-reconcile.bench.js'
