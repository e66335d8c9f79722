import { readFileSync } from 'node:fs';

/** PF_KTHREAD in /proc/<pid>/stat's flags field: a kernel thread has no user space to govern. */
const PF_KTHREAD = 0x00200000;

export type ProcessCheck = { ok: true } | { ok: false; reason: 'missing' | 'init' | 'self' | 'kernel-thread'; message: string };

/** Whether a pid may be moved into a tenant: it exists, and is not init, the governor or a kernel thread. */
export function checkAttachable(pid: number, selfPid = process.pid): ProcessCheck {
  if (pid === 1) return { ok: false, reason: 'init', message: 'pid 1 (init) cannot be attached to a tenant' };
  if (pid === selfPid) return { ok: false, reason: 'self', message: `pid ${pid} is the governor itself and cannot be attached to a tenant` };
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return { ok: false, reason: 'missing', message: `no process has pid ${pid}` };
  }
  // "pid (comm) state ppid ..." — comm may hold spaces and parentheses, so split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const flags = Number(fields[6]);
  if ((flags & PF_KTHREAD) !== 0) return { ok: false, reason: 'kernel-thread', message: `pid ${pid} is a kernel thread and cannot be attached to a tenant` };
  return { ok: true };
}
