#!/usr/bin/env bash
# Guest side of the kernel tier: runs inside the QEMU guest started by test/kernel/run.sh, with
# PostgreSQL started by guest-init (GOVERNOR_GUEST_POSTGRES=1) and a test disk (--disk).
# Acting as the host's administrator, it delegates the controllers to the root's children (Governor
# itself never writes outside its own root), then runs the compiled kernel suite.
set -euo pipefail
cd "$(dirname "$0")/../.."

[ "${GOVERNOR_KERNEL_GUEST:-0}" = 1 ] || { echo "suite.sh runs inside the kernel test guest: bash test/kernel/run.sh --disk 64 -- bash test/kernel/suite.sh" >&2; exit 2; }
echo "+cpu +cpuset +io +memory +pids" > /sys/fs/cgroup/cgroup.subtree_control
# Tenant homes are loop-mounted ext4 images: /dev/loop-control exists only once the module is in.
modprobe loop
printf 'kernel %s; controllers: %s\n' "$(uname -r)" "$(cat /sys/fs/cgroup/cgroup.controllers)"

export GOVERNOR_TEST_CGROUP2=/sys/fs/cgroup
export GOVERNOR_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
# One file at a time: the guest has two slow CPUs, and the files time enforcement.
# No process substitution here: the guest's /dev has no /dev/fd.
files=$(find dist/test/kernel/suite -name '*.test.js' | sort)
[ -n "$files" ] || { echo "no compiled kernel tests under dist/test/kernel/suite: run tsc first" >&2; exit 1; }
# shellcheck disable=SC2086 # the paths have no spaces
node --test --test-reporter=spec --test-concurrency=1 $files
