#!/usr/bin/env bash
# The one test command (npm test): sets up what the tiers need, builds, lints, and runs every tier.
# A tier whose prerequisite is missing fails loudly; none is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each tier's duration is printed when the next one starts, and a summary at the end.
tier_name=""
tier_start=$SECONDS
durations=()
tier_done() {
  [ -n "$tier_name" ] || return 0
  local took=$((SECONDS - tier_start))
  printf '=== %s: %dm%02ds ===\n' "$tier_name" $((took / 60)) $((took % 60))
  durations+=("$(printf '%4dm%02ds  %s' $((took / 60)) $((took % 60)) "$tier_name")")
}
tier() {
  tier_done
  tier_name="$*"
  tier_start=$SECONDS
  printf '\n=== %s ===\n' "$*"
}

tier "setup"
bash test/setup.sh

tier "build (tsc, strict)"
npx tsc -p tsconfig.json

tier "lint (eslint, prettier)"
npx eslint --max-warnings 0 .
npx prettier --check . >/dev/null || { npx prettier --check . ; exit 1; }
promtool check config config/prometheus/prometheus.yml
promtool test rules config/prometheus/rules/governor.rules.test.yml

tier "native (C unit tests)"
make -s -C native test

tier "unit"
node --test --test-reporter=spec $(find dist/libs dist/apps dist/test/unit-config dist/test/fuzz -name '*.spec.js' | sort)

tier "integration (real PostgreSQL, this host's cgroup v2 core)"
node --test --test-reporter=spec --test-concurrency=2 $(find dist/test/integration -name '*.test.js' | sort)

tier "fuzz (fast-check over every route of the OpenAPI document, a real governor under strace)"
node --test --test-reporter=spec dist/test/fuzz/*.test.js

tier "browser (Debian's chromium via playwright-core, against a real governor)"
npm run -s build:portal
node --test --test-reporter=spec dist/test/browser/*.test.js

tier "kernel (QEMU guest with every cgroup v2 controller)"
GOVERNOR_GUEST_POSTGRES=1 bash test/kernel/run.sh --disk 64 --timeout 1800 -- bash test/kernel/suite.sh
tier_done
printf '\n=== durations ===\n'
printf '%s\n' "${durations[@]}"
printf 'total %dm%02ds\n' $((SECONDS / 60)) $((SECONDS % 60))
