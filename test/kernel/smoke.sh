#!/usr/bin/env bash
# Guest-side smoke test of the kernel test host: proves that cgroup v2 enforces memory, cpu and
# pids limits (and io.max when run.sh --disk gave a disk), and that veth, network namespaces,
# tc and user namespaces work. Run it through the host script:
#   bash test/kernel/run.sh -- bash test/kernel/smoke.sh
#   bash test/kernel/run.sh --disk 64 -- bash test/kernel/smoke.sh
set -euo pipefail

cgroot=/sys/fs/cgroup
cg=$cgroot/smoke
netns=governor-smoke
failures=0

say() { printf 'smoke: %s\n' "$*"; }
fail() { printf 'smoke: FAILED: %s\n' "$*" >&2; failures=$((failures + 1)); }
die() { printf 'smoke: FAILED: %s\n' "$*" >&2; exit 1; }

# A cgroup key's value: stat_of FILE KEY (memory.events oom_kill, cpu.stat nr_throttled, ...).
stat_of() { awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }' "$1"; }

# Runs a command inside the cgroup: run_in CGROUP COMMAND...
run_in() {
  local group=$1
  shift
  sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$group" "$@"
}

remove_cgroup() {
  local group=$1
  [ -d "$group" ] || return 0
  echo 1 >"$group/cgroup.kill" 2>/dev/null || true
  for _ in $(seq 1 100); do
    grep -q '^populated 0' "$group/cgroup.events" && break
    sleep 0.1
  done
  rmdir "$group" || fail "could not remove $group"
}

cleanup() {
  remove_cgroup "$cg"
  ip link del smoke-veth0 2>/dev/null || true
  ip netns del "$netns" 2>/dev/null || true
}

[ "$(id -u)" -eq 0 ] || die "run as root (in the guest: bash test/kernel/run.sh -- bash test/kernel/smoke.sh)"
[ "$(stat -f -c %T "$cgroot")" = cgroup2fs ] \
  || die "$cgroot is not a cgroup v2 mount: run this in the guest, bash test/kernel/run.sh -- bash test/kernel/smoke.sh"
trap cleanup EXIT

say "kernel $(uname -r) ($(uname -v))"
controllers=$(cat "$cgroot/cgroup.controllers")
say "cgroup.controllers: $controllers"
for c in cpu cpuset memory pids io; do
  [[ " $controllers " == *" $c "* ]] || die "controller $c missing from $cgroot/cgroup.controllers"
done
echo '+cpu +memory +pids +io +cpuset' >"$cgroot/cgroup.subtree_control" \
  || die "cannot enable +cpu +memory +pids +io +cpuset in $cgroot/cgroup.subtree_control"
say "subtree_control: $(cat "$cgroot/cgroup.subtree_control")"
remove_cgroup "$cg"
mkdir "$cg"

# memory: a 200 MB allocation under memory.max 64M (and no swap) is OOM-killed.
echo 64M >"$cg/memory.max"
[ ! -e "$cg/memory.swap.max" ] || echo 0 >"$cg/memory.swap.max"
alloc_rc=0
# tail buffers its whole input when it has no newline: 200 MB of anonymous memory.
run_in "$cg" sh -c 'head -c 200M /dev/zero | tail -n 1 >/dev/null' 2>/dev/null || alloc_rc=$?
oom_kills=$(stat_of "$cg/memory.events" oom_kill)
say "memory: memory.max=$(cat "$cg/memory.max"), 200 MB allocator exited $alloc_rc, memory.events oom_kill=$oom_kills, memory.peak=$(cat "$cg/memory.peak" 2>/dev/null || echo n/a)"
[ "$oom_kills" -ge 1 ] || fail "memory.max 64M did not OOM-kill the 200 MB allocator (memory.events: $(tr '\n' ' ' <"$cg/memory.events"))"
[ "$alloc_rc" -ne 0 ] || fail "the 200 MB allocator succeeded under memory.max 64M"

# cpu: cpu.max 10 ms per 100 ms throttles a busy loop in every period.
echo '10000 100000' >"$cg/cpu.max"
before=$(stat_of "$cg/cpu.stat" usage_usec)
start_ns=$(date +%s%N)
run_in "$cg" timeout 1 sh -c 'while :; do :; done' || true
wall_ms=$((($(date +%s%N) - start_ns) / 1000000))
throttled=$(stat_of "$cg/cpu.stat" nr_throttled)
periods=$(stat_of "$cg/cpu.stat" nr_periods)
used_ms=$((($(stat_of "$cg/cpu.stat" usage_usec) - before) / 1000))
say "cpu: cpu.max=$(cat "$cg/cpu.max"), busy loop: ${used_ms} ms CPU in ${wall_ms} ms, nr_periods=$periods nr_throttled=$throttled"
[ "$throttled" -gt 0 ] || fail "cpu.max 10000 100000 did not throttle a busy loop (cpu.stat: $(tr '\n' ' ' <"$cg/cpu.stat"))"
[ "$used_ms" -le $((wall_ms / 4 + 100)) ] || fail "the busy loop used ${used_ms} ms CPU in ${wall_ms} ms under a 10% quota"
echo max >"$cg/cpu.max"

# pids: with pids.max 4 (the shell and 3 sleeps), the 4th sleep cannot be forked.
echo 4 >"$cg/pids.max"
fork_rc=0
fork_out=$(run_in "$cg" sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 3 & done; wait' 2>&1) || fork_rc=$?
pid_limit_hits=$(stat_of "$cg/pids.events" max)
say "pids: pids.max=$(cat "$cg/pids.max"), forking 8 sleeps exited $fork_rc ($(printf '%s' "$fork_out" | tr '\n' ' ')), pids.events max=$pid_limit_hits"
[ "$pid_limit_hits" -ge 1 ] || fail "pids.max 4 did not refuse a fork (pids.events: $(cat "$cg/pids.events"))"
[ "$fork_rc" -ne 0 ] || fail "forking 8 processes succeeded under pids.max 4"
echo 1 >"$cg/cgroup.kill"
echo max >"$cg/pids.max"

# io: with a disk from run.sh --disk, io.max wbps throttles direct writes to it.
if [ -n "${GOVERNOR_TEST_DISK_DEV:-}" ]; then
  for _ in $(seq 1 50); do grep -q '^populated 0' "$cg/cgroup.events" && break; sleep 0.1; done
  echo "$GOVERNOR_TEST_DISK_DEV wbps=2097152" >"$cg/io.max"
  start_ns=$(date +%s%N)
  run_in "$cg" dd if=/dev/zero of="$GOVERNOR_TEST_DISK" bs=1M count=6 oflag=direct status=none \
    || fail "dd to $GOVERNOR_TEST_DISK"
  wall_ms=$((($(date +%s%N) - start_ns) / 1000000))
  written=$(awk -v d="$GOVERNOR_TEST_DISK_DEV" '$1 == d { for (i = 2; i <= NF; i++) if ($i ~ /^wbytes=/) print substr($i, 8) }' "$cg/io.stat")
  say "io: io.max '$(cat "$cg/io.max")', 6 MB direct write to $GOVERNOR_TEST_DISK ($GOVERNOR_TEST_DISK_DEV) took ${wall_ms} ms, io.stat wbytes=${written:-0}"
  [ "$wall_ms" -ge 2000 ] || fail "io.max wbps=2 MB/s let 6 MB through in ${wall_ms} ms"
  [ "${written:-0}" -ge 6291456 ] || fail "io.stat did not account the 6 MB write to $GOVERNOR_TEST_DISK_DEV"
else
  say "io: skipped (no disk: bash test/kernel/run.sh --disk 64 -- ... gives one)"
fi

# net and user namespaces: a veth pair into a new netns with a tbf qdisc; an unprivileged userns.
ip netns add "$netns"
ip link add smoke-veth0 type veth peer name smoke-veth1
ip link set smoke-veth1 netns "$netns"
tc qdisc add dev smoke-veth0 root tbf rate 1mbit burst 32kbit latency 400ms
qdisc=$(tc qdisc show dev smoke-veth0)
peer=$(ip -n "$netns" -br link show smoke-veth1)
userns=$(unshare --user --map-root-user --net sh -c 'id -u; cat /proc/self/uid_map' | tr -s ' \n' ' ')
say "net: qdisc '$qdisc'; in netns $netns: $peer; userns: $userns"
[[ $qdisc == *tbf* ]] || fail "tc tbf qdisc not set on smoke-veth0"
[[ $peer == smoke-veth1* ]] || fail "veth peer not in netns $netns"
[[ $userns == 0\ 0* ]] || fail "unshare --user --map-root-user did not give uid 0"

cleanup
trap - EXIT
[ ! -d "$cg" ] || fail "$cg still exists"
if [ "$failures" -gt 0 ]; then
  printf 'smoke: %d check(s) FAILED\n' "$failures" >&2
  exit 1
fi
say "all checks passed"
