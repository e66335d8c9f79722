#!/usr/bin/env bash
# Installs and starts what the test tiers need, so that a user who runs `npm test` gets what CI gets.
# Idempotent: on a machine that has everything it only checks.
set -euo pipefail

log() { printf 'test-setup: %s\n' "$*" >&2; }
die() { printf 'test-setup: FAILED: %s\n' "$*" >&2; exit 1; }

apt_updated=0
need_packages() {
  local missing=()
  for pkg in "$@"; do dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "packages missing (${missing[*]}) and not root to install them"
  if [ $apt_updated -eq 0 ]; then log "apt-get update"; DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2; apt_updated=1; fi
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || die "apt-get install ${missing[*]}"
}

# Host tools the namespace and network tests drive: iproute2 (ip, tc), nftables, util-linux (unshare,
# nsenter), socat as a traffic sink, ping for the gateway check, the C toolchain for native/, and strace,
# with which the no-op pass test counts the processes a governor starts. nftables brings libnftables1,
# which the governor itself loads to list and apply its table without a process.
need_packages iproute2 nftables socat iputils-ping util-linux make gcc strace
# Tenant homes are ext4 images (mkfs.ext4, resize2fs); bubblewrap is the isolation benchmark's reference;
# a static busybox is the whole of the minimal image the rootfs test gives a tenant.
need_packages e2fsprogs bubblewrap busybox-static

# tmux and zsh for govctl's integration test: `govctl top` and Ctrl-C of `govctl run` are driven in a real
# terminal, and the zsh completion script is loaded as the bash one is.
need_packages tmux zsh

# systemd-analyze for the units test: `systemd-analyze verify` reads config/systemd's units as systemd 252 does
# (it needs the package, not a running systemd).
need_packages systemd

# strace for the fuzz tier: it attributes every file the governor's process tree creates.
need_packages strace

# Debian's chromium for the browser tier: playwright-core drives it at /usr/bin/chromium and never downloads a browser.
need_packages chromium

# Prometheus (and promtool) for the metrics tier: the real server scrapes a governor in the kernel guest
# and evaluates every dashboard query and alert rule. Installed without starting Debian's service: a
# policy-rc.d that refuses starts is in place only for the install, and only if the host has none.
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  policy=/usr/sbin/policy-rc.d
  ours=""
  if [ ! -e "$policy" ] && [ "$(id -u)" -eq 0 ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && ours=$policy
    trap '[ -n "$ours" ] && rm -f "$ours"' EXIT
  fi
  need_packages prometheus
  [ -n "$ours" ] && rm -f "$ours"
  trap - EXIT
fi
command -v promtool >/dev/null || die "promtool is missing after installing prometheus"

# PostgreSQL: the integration tier runs against a real server on 127.0.0.1:5432.
PGHOST_ADDR=127.0.0.1
if ! pg_isready -q -h "$PGHOST_ADDR" -p 5432 2>/dev/null; then
  need_packages postgresql postgresql-contrib
  cluster_version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  [ -n "$cluster_version" ] || die "no PostgreSQL cluster under /etc/postgresql"
  log "starting PostgreSQL $cluster_version"
  pg_ctlcluster --skip-systemctl-redirect "$cluster_version" main start >&2 || die "could not start PostgreSQL $cluster_version"
  for _ in $(seq 1 30); do pg_isready -q -h "$PGHOST_ADDR" -p 5432 && break; sleep 1; done
  pg_isready -q -h "$PGHOST_ADDR" -p 5432 || die "PostgreSQL does not answer on $PGHOST_ADDR:5432"
fi
psql -h "$PGHOST_ADDR" -U postgres -d postgres -tAc 'SELECT 1' >/dev/null || die "cannot log in to PostgreSQL as postgres on $PGHOST_ADDR (trust auth expected)"
log "PostgreSQL ready on $PGHOST_ADDR:5432"
