#!/usr/bin/env bash
# Starts the units of config/systemd for real under a booted systemd: a Debian 12 root (debootstrap, systemd 252)
# booted with systemd-nspawn, the checkout bind-mounted read-only at /opt/governor as the units expect, PostgreSQL
# reached over the host's unix socket. It then shows, with systemd's own tools inside the machine:
#   - governor-tenants.service holds the tenant subtree (its one process in ROOT/keeper), and the agent of
#     governor-agent.service lives in its own unit's cgroup, writing into that subtree;
#   - a workload started through the API, and a process attached to its tenant by pid, survive
#     `systemctl restart governor-agent` (same pid, still running, adopted by the new agent);
#   - governor-api.service (DynamicUser, ProtectSystem=strict) serves /readyz and /v1/nodes.
# Exit status 3: everything held except that no workload could start on the tenant (the
# script says why). It leaves nothing running: the machine is powered off, its cgroup removed and its database dropped. Run as
# root; see README "Deployment".
#
#   bash test/deploy/systemd.sh
#   bash test/deploy/systemd.sh --single-unit
#
# --single-unit tries the layout of issue 14 instead: one governor-agent.service (Delegate=yes, KillMode=process)
# whose own cgroup is ROOT, the agent moving itself to ROOT/supervisor at start, no governor-tenants.service. It
# reports what systemd does on `systemctl restart` once ROOT hands a controller to its children, and exits 4 when
# the restarted agent cannot start (the two-unit layout is then the one that works).
#
# The controllers: the host's v2 controllers that systemd does not manage itself (hugetlb on this hybrid host) are
# enabled down to system.slice by hand before the governor's units start, so that ROOT hands a controller to its
# children as on a real host. Without one, the kernel's no-internal-process rule never applies and a process may
# join any cgroup of the tree: neither layout's restart would be tested.
#
# The machine has its own network namespace (--private-network), so the agent's tenant links and nftables
# table stay inside it. On a hybrid host (cgroup v1 controllers, v2 at /sys/fs/cgroup/unified) nspawn runs in a
# mount namespace where /sys/fs/cgroup is the v2 mount: it and the machine's systemd see a cgroup v2 host and
# never touch the v1 hierarchies.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
prefix=${GOVERNOR_TEST_PREFIX:-governor-deploy}
work=/var/lib/$prefix-nspawn
rootfs=$work/rootfs
database=${prefix//-/_}_systemd
pg_socket=/run/postgresql
admin_token=$prefix-admin-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
agent_token=$prefix-agent-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
node_name=$prefix-nspawn
tenant=deploy-systemd
single=
[ "${1:-}" = --single-unit ] && single=1

step() { printf '\n== %s (%s, load %s)\n' "$1" "$(date -u +%H:%M:%S)" "$(cut -d' ' -f1-3 /proc/loadavg)"; }

missing=()
for tool in systemd-nspawn:systemd-container debootstrap:debootstrap; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if ((${#missing[@]})); then
  step "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -f "$repo/dist/test/deploy/fleet-check.js" ] && [ -f "$repo/dist/apps/governor/src/main.js" ] || (cd "$repo" && npx tsc -p tsconfig.json)

v2=/sys/fs/cgroup
[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || v2=/sys/fs/cgroup/unified
machine_cgroup=$v2/$prefix-nspawn
leader=

inside() { nsenter -t "$leader" -a "$@"; }
check() { nsenter -t "$leader" -n env GOVERNOR_CHECK_URL=http://127.0.0.1:8080 GOVERNOR_CHECK_TOKEN="$admin_token" node "$repo/dist/test/deploy/fleet-check.js" "$@"; }

cleanup() {
  status=$?
  step 'cleanup'
  if [ -n "$leader" ] && [ -d "/proc/$leader" ]; then
    [ "$status" = 0 ] || inside journalctl --no-pager -o cat -u governor-tenants.service -u governor-agent.service | grep -v -e RouterExplorer -e RoutesResolver -e InstanceLoader | tail -20
    inside systemctl poweroff || kill -TERM "$leader" || true
    for _ in $(seq 600); do [ -d "/proc/$leader" ] || break; sleep 0.2; done
  fi
  [ -d "$machine_cgroup" ] && find "$machine_cgroup" -depth -type d -exec rmdir {} + 2>/dev/null || true
  [ -d "$machine_cgroup" ] && echo "left behind: $machine_cgroup"
  psql -h "$pg_socket" -U postgres -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" postgres || true
  exit "$status"
}
trap cleanup EXIT

if [ ! -x "$rootfs/lib/systemd/systemd" ]; then
  step 'root filesystem: debootstrap bookworm with systemd'
  rm -rf "$rootfs"
  mkdir -p "$work"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,iproute2,nftables,e2fsprogs,procps,ca-certificates \
    bookworm "$rootfs" http://deb.debian.org/debian >"$work/debootstrap.log"
fi

step 'install the units as the README says'
cp "$(command -v node)" "$rootfs/usr/bin/node"
echo "$node_name" >"$rootfs/etc/hostname"
mkdir -p "$rootfs/etc/governor" "$rootfs/etc/systemd/system/multi-user.target.wants"
rm -f "$rootfs"/etc/systemd/system/governor-*.service "$rootfs"/etc/systemd/system/multi-user.target.wants/governor-*.service
units=(governor-tenants.service governor-agent.service)
[ -n "$single" ] && units=(governor-agent.service)
for unit in "${units[@]}" governor-api.service; do
  cp "$repo/config/systemd/$unit" "$rootfs/etc/systemd/system/$unit"
done
if [ -n "$single" ]; then
  # The issue-14 unit: ROOT is the agent's own cgroup, nothing binds it to a tenants unit.
  sed -i -e 's|^Environment=GOVERNOR_CGROUP_ROOT=.*|Environment=GOVERNOR_CGROUP_ROOT=/sys/fs/cgroup/system.slice/governor-agent.service|' \
    -e '/^BindsTo=governor-tenants.service/d' -e 's/ governor-tenants.service$//' "$rootfs/etc/systemd/system/governor-agent.service"
  grep -n -e GOVERNOR_CGROUP_ROOT -e BindsTo -e ^After -e ^Delegate -e ^KillMode "$rootfs/etc/systemd/system/governor-agent.service"
fi
# The API starts at boot; the agent's units are enabled with `systemctl enable --now` once the controllers are
# delegated (below).
ln -sf /etc/systemd/system/governor-api.service "$rootfs/etc/systemd/system/multi-user.target.wants/governor-api.service"
url="postgres://postgres@/$database?host=$pg_socket"
(
  umask 077
  cat >"$rootfs/etc/governor/agent.env" <<EOF
DATABASE_URL=$url
GOVERNOR_AGENT_TOKEN=$agent_token
GOVERNOR_NODE_NAME=$node_name
GOVERNOR_HOST=127.0.0.1
GOVERNOR_PORT=8081
GOVERNOR_AGENT_URL=http://127.0.0.1:8081
GOVERNOR_DATA_DIR=/var/lib/governor
GOVERNOR_HEARTBEAT_INTERVAL=2s
EOF
  cat >"$rootfs/etc/governor/api.env" <<EOF
DATABASE_URL=$url
GOVERNOR_ADMIN_TOKEN=$admin_token
GOVERNOR_AGENT_TOKEN=$agent_token
GOVERNOR_HOST=127.0.0.1
GOVERNOR_PORT=8080
GOVERNOR_NET_POOL=10.220.144.0/20
EOF
)
psql -h "$pg_socket" -U postgres -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" -c "CREATE DATABASE $database" postgres

step 'boot'
mkdir -p "$machine_cgroup"
unshare -m sh -c "
  mount --make-rprivate /
  [ $v2 = /sys/fs/cgroup ] || mount --bind $v2 /sys/fs/cgroup
  echo \$\$ >/sys/fs/cgroup/$prefix-nspawn/cgroup.procs
  exec systemd-nspawn -D $rootfs --boot --register=no --keep-unit --private-network --machine=$prefix --console=pipe \
    --bind-ro=$repo:/opt/governor --bind=$pg_socket:$pg_socket" </dev/null >"$work/console.log" 2>&1 &
# The machine's systemd is the process of its init.scope; early in the boot nspawn's own child is there too.
state=
for _ in $(seq 300); do
  leader=
  for pid in $(cat "$machine_cgroup/payload/init.scope/cgroup.procs" 2>/dev/null || true); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd ] && leader=$pid
  done
  [ -n "$leader" ] && state=$(inside systemctl is-system-running 2>/dev/null || true)
  case $state in running | degraded) break ;; esac
  sleep 0.5
done
[ -n "$leader" ] || { echo 'the machine did not boot' >&2; cat "$work/console.log" >&2; exit 1; }
echo "systemd $(inside systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p'): $state"
inside systemctl --no-pager --failed

step "delegate the host's other v2 controllers to system.slice, then enable --now ${units[*]}"
# systemd 252 enables in system.slice only the controllers it knows (cpu, io, memory, pids, cpuset); a v2
# controller it does not manage (hugetlb here) must be enabled down the machine's tree by hand. The machine's
# cgroup and payload/ hold no process of their own (nspawn and the machine's systemd sit in leaves).
for dir in "$machine_cgroup" "$machine_cgroup/payload" "$machine_cgroup/payload/system.slice"; do
  for controller in $(cat "$dir/cgroup.controllers"); do
    grep -qw "$controller" "$dir/cgroup.subtree_control" || echo "+$controller" >"$dir/cgroup.subtree_control"
  done
done
echo "system.slice hands down: $(cat "$machine_cgroup/payload/system.slice/cgroup.subtree_control")"
inside systemctl enable --now "${units[@]}"
inside systemctl is-active "${units[@]}" governor-api.service

in_supervisor() {
  for _ in $(seq 240); do
    [ "$(inside sed -n 's/^0:://p' /proc/"$1"/cgroup)" = /system.slice/governor-agent.service/supervisor ] && break
    sleep 0.5
  done
  echo "agent (pid $1 in the machine) now: $(inside cat /proc/"$1"/cgroup | sed -n 's/^0:://p')"
  [ "$(inside sed -n 's/^0:://p' /proc/"$1"/cgroup)" = /system.slice/governor-agent.service/supervisor ]
}

step 'cgroups'
agent_pid=$(inside systemctl show -P MainPID governor-agent.service)
echo "agent (pid $agent_pid in the machine): $(inside cat /proc/"$agent_pid"/cgroup | sed -n 's/^0:://p')"
if [ -n "$single" ]; then
  root=/sys/fs/cgroup/system.slice/governor-agent.service
  # Started in the unit's cgroup (ROOT), the agent moves itself to ROOT/supervisor when its cgroup driver starts.
  in_supervisor "$agent_pid"
else
  root=/sys/fs/cgroup/system.slice/governor-tenants.service
  keeper_pid=$(inside systemctl show -P MainPID governor-tenants.service)
  echo "tenants unit's process (pid $keeper_pid): $(inside cat /proc/"$keeper_pid"/cgroup | sed -n 's/^0:://p')"
  [ "$(inside sed -n 's/^0:://p' /proc/"$agent_pid"/cgroup)" = /system.slice/governor-agent.service ]
  [ "$(inside sed -n 's/^0:://p' /proc/"$keeper_pid"/cgroup)" = /system.slice/governor-tenants.service/keeper ]
fi
echo "ROOT $root: $(inside sh -c "cd $root && ls -d */ | tr '\n' ' '"), hands down: $(inside cat "$root/cgroup.subtree_control")"

step 'api /readyz and /v1/nodes'
check ready
check nodes "$node_name"
step "tenant $tenant: a workload, and a process of the machine attached by pid"
applied=$(check applied "$tenant" "$node_name")
echo "$applied"
phase=$(node -e 'console.log(JSON.parse(process.argv[1]).phase)' "$applied")
sleeper=$(inside sh -c 'sleep 600 </dev/null >/dev/null 2>&1 & echo $!')
check attach "$tenant" "$node_name" "$sleeper"
attached=$root/tenants/$tenant/attached
inside grep -qx "$sleeper" "$attached/cgroup.procs"
echo "pid $sleeper (in the machine) attached: in $attached"
id=
[ "$phase" = Ready ] || echo "the tenant is $phase on $node_name (its conditions above); a workload is tried all the same"
if started=$(check workload "$tenant" "$node_name" /bin/sleep 600); then
  echo "$started"
  id=$(node -e 'console.log(JSON.parse(process.argv[1]).id)' "$started")
  leaf=$root/tenants/$tenant/workloads/$id
  before=$(inside cat "$leaf/cgroup.procs")
  [ -n "$before" ] || { echo "workload $id has no process in $leaf" >&2; exit 1; }
  echo "workload $id: pid $before (in the machine) in $leaf"
else
  echo "NO WORKLOAD: none could start on $node_name (the tenant is $phase)"
fi

step "ROOT hands a controller down, as it does on a host whose v2 tree has memory, cpu, io or pids"
# The governor enables only the controllers it manages (cpu cpuset io memory pids); this host's v2 tree offers
# none of them, only hugetlb. Enabled in ROOT's subtree_control by hand, hugetlb puts ROOT under the kernel's
# no-internal-process rule exactly as memory would: a process may no longer join ROOT itself.
handed=$(inside cat "$root/cgroup.subtree_control")
if [ -z "$handed" ]; then
  offered=$(inside cat "$root/cgroup.controllers")
  [ -n "$offered" ] || { echo "ROOT $root is offered no controller: the restart below would prove nothing" >&2; exit 1; }
  inside sh -c "echo +${offered%% *} >$root/cgroup.subtree_control"
fi
echo "ROOT $root hands down: $(inside cat "$root/cgroup.subtree_control")"
if inside sh -c "echo \$\$ >$root/cgroup.procs" 2>/dev/null; then
  echo "the kernel let a process join ROOT $root itself: the no-internal-process rule does not apply" >&2
  exit 1
fi
echo "a process may not join ROOT $root itself (the kernel refuses, as it does systemd below)"

step 'systemctl restart governor-agent'
since=$(inside date '+%Y-%m-%d %H:%M:%S')
restarted=0
inside systemctl restart governor-agent.service || restarted=$?
sleep 3
echo "systemctl restart: exit $restarted; $(inside systemctl show -P ActiveState,SubState,ExecMainStatus,NRestarts governor-agent.service | tr '\n' ' ')"
inside journalctl --no-pager -o short-monotonic --since "$since" -u governor-agent.service | grep -v -e RouterExplorer -e RoutesResolver -e InstanceLoader | sed -n 1,20p
if ! inside systemctl is-active governor-agent.service; then
  inside systemctl --no-pager status governor-agent.service | sed -n 1,20p || true
  inside journalctl -b --no-pager -o short-monotonic | grep -i -e 'attach to cgroup' -e 'exec.*cgroup' | tail -4 || true
  echo "still in the tenants' cgroups: $(inside sh -c "cat $root/tenants/$tenant/attached/cgroup.procs $root/tenants/$tenant/workloads/*/cgroup.procs $root/tenants/$tenant/monitors/*/cgroup.procs" 2>/dev/null | tr '\n' ' ')"
  if [ -n "$single" ]; then
    inside systemctl stop governor-agent.service || true
    start=0
    inside systemctl start governor-agent.service || start=$?
    sleep 3
    echo "systemctl stop, then start: exit $start; $(inside systemctl show -P ActiveState,SubState,ExecMainStatus,NRestarts governor-agent.service | tr '\n' ' ')"
    echo "SINGLE UNIT: the restarted agent does not run (ROOT $root hands down: $(inside cat "$root/cgroup.subtree_control"))"
    inside systemctl stop governor-agent.service || true
    exit 4
  fi
  exit 1
fi
new_agent=$(inside systemctl show -P MainPID governor-agent.service)
echo "agent pid $agent_pid -> $new_agent: $(inside cat /proc/"$new_agent"/cgroup | sed -n 's/^0:://p')"
[ "$new_agent" != "$agent_pid" ]
[ -z "$single" ] || in_supervisor "$new_agent"
check nodes "$node_name"
inside grep -qx "$sleeper" "$attached/cgroup.procs" || { echo "the attached pid $sleeper is gone from $attached" >&2; exit 1; }
echo "the attached pid $sleeper is still in $attached"
if [ -n "$id" ]; then
  after=$(inside cat "$leaf/cgroup.procs")
  echo "workload $id after the restart: pid $after"
  [ "$after" = "$before" ] || { echo "the workload's process changed: $before -> $after" >&2; exit 1; }
  check workload-running "$tenant" "$id"
fi
echo "ROOT $root hands down after the restart: $(inside cat "$root/cgroup.subtree_control")"
if [ -n "$single" ]; then
  inside systemctl stop governor-agent.service
  inside systemctl start governor-agent.service
  stopped_started=$(inside systemctl show -P MainPID governor-agent.service)
  in_supervisor "$stopped_started"
  echo "systemctl stop, then start: main pid $stopped_started"
fi
for unit in "${units[@]}"; do inside systemd-cgls --no-pager -u "$unit"; done

step "delete $tenant"
check delete "$tenant"
if [ -z "$id" ]; then
  echo "systemd: the units run and a tenant's processes survive the agent's restart, but no workload could start (tenant $phase)"
  exit 3
fi
echo 'systemd: all checks passed'
