#!/usr/bin/env bash
# Runs docker-compose.yml for real: PostgreSQL, one api and two agents, on a Docker daemon of the script's own,
# with images built from a local base (no image registry needed), then checks the fleet through the API:
# /readyz, both agents Ready on /v1/nodes, a tenant Ready on both (per node), a workload running on agent-1
# whose process sits in agent-1's cgroup root. It leaves nothing running: containers, volumes, the daemon,
# its bridges and the cgroups it made go at the end, failed or not. Run as root; see README "Deployment".
#
#   bash test/deploy/compose.sh
#
# The daemon (Debian's docker.io) keeps its state under /var/lib/$prefix-docker and runs without iptables,
# IP forwarding or masquerading, with its networks in 10.220.16.0/20. On a hybrid host (cgroup v1 controllers,
# v2 at /sys/fs/cgroup/unified) it runs in a mount namespace where /sys/fs/cgroup is the v2 mount, so it and
# its containers see a cgroup v2 host and never touch the v1 hierarchies. Prometheus and Grafana are not
# started: their public images cannot be built here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
prefix=${GOVERNOR_TEST_PREFIX:-governor-deploy}
work=/var/lib/$prefix-docker
sock=/run/$prefix-docker.sock
base=$prefix-base:bookworm
export DOCKER_HOST=unix://$sock
docker=/usr/bin/docker
# docker-compose 1.29 (the compose Debian 12 has) refuses the agents' `cgroup: host`, a key of the Compose
# Specification it predates: it reads a copy without it, and the daemon makes the host's cgroup namespace the
# default (--default-cgroupns-mode host), which is what the key asks for.
compose=(docker-compose -p "$prefix" --project-directory "$repo" -f "$work/docker-compose.yml" -f "$here/docker-compose.local.yml")
export GOVERNOR_TEST_PREFIX=$prefix GOVERNOR_TEST_BASE_IMAGE=$base GOVERNOR_TEST_NET_POOL=10.220.128.0/20
export GOVERNOR_ADMIN_TOKEN=${GOVERNOR_ADMIN_TOKEN:-$prefix-admin-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')}
export GOVERNOR_AGENT_TOKEN=${GOVERNOR_AGENT_TOKEN:-$prefix-agent-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')}
export GOVERNOR_API_PORT=${GOVERNOR_API_PORT:-18220}
check=(node "$repo/dist/test/deploy/fleet-check.js")
export GOVERNOR_CHECK_URL=http://127.0.0.1:$GOVERNOR_API_PORT GOVERNOR_CHECK_TOKEN=$GOVERNOR_ADMIN_TOKEN

step() { printf '\n== %s (%s, load %s)\n' "$1" "$(date -u +%H:%M:%S)" "$(cut -d' ' -f1-3 /proc/loadavg)"; }

missing=()
for tool in dockerd:docker.io docker-compose:docker-compose debootstrap:debootstrap jq:jq capsh:libcap2-bin; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if ((${#missing[@]})); then
  step "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -f "$repo/dist/test/deploy/fleet-check.js" ] || (cd "$repo" && npx tsc -p tsconfig.json)

v2=/sys/fs/cgroup
[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || v2=/sys/fs/cgroup/unified
cgroups=("$v2/$prefix-docker" "$v2/$prefix-agent-1" "$v2/$prefix-agent-2")

cleanup() {
  status=$?
  step 'cleanup'
  [ -S "$sock" ] && "${compose[@]}" down -v --remove-orphans || true
  if [ -f "/run/$prefix-docker.pid" ]; then
    kill "$(cat "/run/$prefix-docker.pid")" 2>/dev/null || true
    for _ in $(seq 50); do [ -e "/run/$prefix-docker.pid" ] || break; sleep 0.2; done
  fi
  # The agents' cgroup roots and the daemon's: leaves first. The tenant was deleted through the API, so they are empty.
  for root in "${cgroups[@]}"; do
    [ -d "$root" ] && find "$root" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  for dir in "${cgroups[@]}"; do [ -d "$dir" ] && echo "left behind: $dir"; done
  rm -rf "/run/$prefix-agent-1" "/run/$prefix-agent-2"
  grep -q " /run/$prefix-docker" /proc/self/mountinfo || rm -rf "/run/$prefix-docker"
  exit "$status"
}
trap cleanup EXIT

step 'daemon'
mkdir -p "$work"
grep -c '^  cgroup: host$' "$repo/docker-compose.yml" >/dev/null || { echo "docker-compose.yml has no 'cgroup: host' to move to the daemon" >&2; exit 1; }
grep -v '^  cgroup: host$' "$repo/docker-compose.yml" >"$work/docker-compose.yml"
# A privileged container asks runc for every capability Docker knows; where this script itself runs without some
# (a sandbox's bounding set), runc fails with "unable to apply caps". The daemon's runtime is then runc behind a
# wrapper that takes those, and only those, out of each container's config: privileged minus what the host lacks.
bounding=$((16#$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)))
lacking=()
for cap in $(seq 0 "$(cat /proc/sys/kernel/cap_last_cap)"); do
  ((bounding >> cap & 1)) || lacking+=("\"$(capsh --decode="$(printf %x $((1 << cap)))" | sed 's/.*=//' | tr a-z A-Z)\"")
done
runtime=
if ((${#lacking[@]})); then
  echo "this host's bounding set lacks ${lacking[*]}: containers get runc through $work/runc-wrapper"
  cat >"$work/runc-wrapper" <<WRAPPER
#!/bin/sh
bundle=
prev=
for arg in "\$@"; do [ "\$prev" = --bundle ] && bundle=\$arg; prev=\$arg; done
if [ -n "\$bundle" ] && [ -f "\$bundle/config.json" ]; then
  jq -c '(.process.capabilities // {}) |= with_entries(.value -= [$(IFS=,; echo "${lacking[*]}")])' "\$bundle/config.json" >"\$bundle/config.json.tmp"
  mv "\$bundle/config.json.tmp" "\$bundle/config.json"
fi
exec runc "\$@"
WRAPPER
  chmod +x "$work/runc-wrapper"
  printf '{"runtimes": {"host-caps": {"path": "%s"}}, "default-runtime": "host-caps"}\n' "$work/runc-wrapper" >"$work/daemon.json"
  runtime="--config-file $work/daemon.json"
fi
# The daemon's mount namespace: private, then shared again inside, so that the agents' rshared run directories work.
unshare -m sh -c "
  mount --make-rprivate /
  [ $v2 = /sys/fs/cgroup ] || mount --bind $v2 /sys/fs/cgroup
  mount --make-rshared /
  exec dockerd --data-root $work/data --exec-root /run/$prefix-docker -H unix://$sock --pidfile /run/$prefix-docker.pid \
    --iptables=false --ip-forward=false --ip-masq=false --bridge=none --default-address-pool base=10.220.16.0/20,size=24 \
    --cgroup-parent=/$prefix-docker --default-cgroupns-mode host $runtime" >"$work/dockerd.log" 2>&1 &
for _ in $(seq 100); do "$docker" info >/dev/null 2>&1 && break; sleep 0.3; done
"$docker" info --format 'docker {{.ServerVersion}}, cgroup v{{.CgroupVersion}} ({{.CgroupDriver}}), {{.Driver}}'

if ! "$docker" image inspect "$base" >/dev/null 2>&1; then
  step "base image $base: debootstrap bookworm and this machine's node"
  root=$work/base-rootfs
  rm -rf "$root"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$root" http://deb.debian.org/debian >"$work/debootstrap.log"
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules"
  cp "$(command -v node)" "$root/usr/local/bin/node"
  cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$root/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  rm -rf "$root"/var/cache/apt/archives/*.deb
  # The machine's own trust store, so that the build reaches the npm registry as this machine's npm does
  # (through whatever TLS proxy this machine trusts); the public node image needs nothing of the kind.
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  tar -C "$root" -c . | "$docker" import --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' - "$base" >/dev/null
  rm -rf "$root"
fi

step 'build'
DOCKER_BUILDKIT=0 "${compose[@]}" build postgres api
step 'up: postgres, api, agent-1, agent-2'
"${compose[@]}" up -d postgres api agent-1 agent-2
"${compose[@]}" ps

step 'api /readyz'
"${check[@]}" ready
step '/v1/nodes: agent-1 and agent-2 Ready'
"${check[@]}" nodes agent-1,agent-2
tenant=deploy-compose
step "tenant $tenant on both agents"
"${check[@]}" tenant "$tenant" agent-1,agent-2
for n in 1 2; do
  [ -d "$v2/$prefix-agent-$n/tenants/$tenant" ] || { echo "no cgroup of $tenant under agent-$n's root" >&2; exit 1; }
done
echo "cgroup of $tenant under $v2/$prefix-agent-1/tenants and $v2/$prefix-agent-2/tenants"
step 'workload on agent-1'
started=$("${check[@]}" workload "$tenant" agent-1 /bin/sleep 600)
echo "$started"
id=$(node -e 'console.log(JSON.parse(process.argv[1]).id)' "$started")
procs=$(cat "$v2/$prefix-agent-1/tenants/$tenant/workloads/$id/cgroup.procs")
[ -n "$procs" ] || { echo "workload $id has no process in agent-1's cgroup root" >&2; exit 1; }
echo "workload $id: pid $procs in $v2/$prefix-agent-1/tenants/$tenant/workloads/$id ($(tr '\0' ' ' <"/proc/$procs/cmdline"))"
step "delete $tenant"
"${check[@]}" delete "$tenant"
step 'logs (tail)'
"${compose[@]}" logs --no-color --tail 5 api agent-1 agent-2
echo 'compose: all checks passed'
