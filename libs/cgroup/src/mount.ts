/**
 * Where the cgroup v2 hierarchy is mounted, read from /proc/self/mountinfo. On a unified host that is
 * /sys/fs/cgroup; on a hybrid host (v1 controllers plus a v2 tree) usually /sys/fs/cgroup/unified.
 */
export function findCgroup2Mount(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    // "36 25 0:31 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate": the fields after " - " are
    // the filesystem type and source; the mount point is field 5 before it.
    const [before, after] = line.split(' - ');
    if (after === undefined || after.split(' ')[0] !== 'cgroup2') continue;
    const fields = before.split(' ');
    if (fields[3] !== '/') continue; // a bind mount of a subtree is not the hierarchy's root
    return unescapeMountPath(fields[4]);
  }
  return undefined;
}

/** mountinfo escapes space, tab, newline and backslash as octal (\040). */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** "0::/system.slice/governor.service" → "/system.slice/governor.service": this process's v2 cgroup. */
export function ownCgroup2Path(procSelfCgroup: string): string | undefined {
  const line = procSelfCgroup.split('\n').find((l) => l.startsWith('0::'));
  return line?.slice(3).trim() || undefined;
}
