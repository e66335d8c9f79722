#!/usr/bin/env bash
# npm install's second step (after make -C native): the host libraries the service loads at run time and
# this package cannot carry. Today one: libnftables (the tenant firewall, driven in process through koffi).
# As root on Debian or Ubuntu a missing one is installed with apt-get; otherwise it says what to install,
# and the service's /readyz names the missing library until it is there. GOVERNOR_SKIP_HOST_PACKAGES=1 skips.
set -euo pipefail
[ "${GOVERNOR_SKIP_HOST_PACKAGES:-}" = 1 ] && exit 0
[ "$(uname -s)" = Linux ] || exit 0

missing=()
ldconfig -p 2>/dev/null | grep -q 'libnftables\.so\.1 ' || missing+=(libnftables1)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "governor: installing the host libraries the service loads: ${missing[*]} (apt-get)" >&2
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
else
  echo "governor: the service needs ${missing[*]} (libnftables.so.1, for the tenant firewall); install it as root" \
    "(Debian/Ubuntu: apt-get install ${missing[*]}), or /readyz stays red naming it" >&2
fi
