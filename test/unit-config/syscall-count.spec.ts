import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countSyscalls } from '../support/syscall-count';

// The strace log reader that the no-op pass test and the whole-reconcile benchmark rely on to say "nothing
// was written, nothing was started". Lines as strace -f -yy -s 1 prints them: the pid column padded to five
// characters, so a short pid is followed by two spaces or more (a reader that wanted one space saw nothing).
const LOG = [
  '7345  write(35</sys/fs/cgroup/unified/governor/tenants/a/cgroup.freeze>, "1", 1) = 1',
  '12345 pwrite64(9</proc/sys/net/ipv6/conf/eth0/disable_ipv6>, "1"..., 2, 0) = 2',
  '812   write(1<pipe:[4242]>, "{"..., 90) = 90',
  '7345  execve("/usr/local/bin/ip", ["ip"], 0x7ffd /* 3 vars */) = -1 ENOENT (No such file or directory)',
  '7345  execve("/usr/bin/ip", ["ip"], 0x7ffd /* 3 vars */) = 0',
  '7346  clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, exit_signal=0}, 88) = 7350',
  '7346  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 7351',
  '7345  sendto(20<NETLINK:[ROUTE:7345]>, [{nlmsg_len=40, nlmsg_type=RTM_NEWQDISC, nlmsg_flags=NLM_F_REQUEST}, ...], 40, 0, NULL, 0) = 40',
  '7345  sendto(20<NETLINK:[ROUTE:7345]>, [{nlmsg_len=32, nlmsg_type=RTM_GETLINK, nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP}, ...], 32, 0, NULL, 0) = 32',
  '7347  sendmsg(21<NETLINK:[NETFILTER:7347]>, {msg_iov=[{iov_base=[{nlmsg_len=20, nlmsg_type=0xa01}, {nlmsg_len=20, nlmsg_type=0xa06}]}]}, 0) = 40',
].join('\n');

describe('countSyscalls', () => {
  it('counts writes to /sys and /proc files, whatever the width of the pid column, and no other write', () => {
    assert.deepEqual(countSyscalls(LOG).kernelFileWrites, [
      '/sys/fs/cgroup/unified/governor/tenants/a/cgroup.freeze',
      '/proc/sys/net/ipv6/conf/eth0/disable_ipv6',
    ]);
  });

  it('counts only the execve that succeeded, and forks but not threads', () => {
    const count = countSyscalls(LOG);
    assert.deepEqual(count.execs, ['ip']);
    assert.equal(count.forks, 1);
  });

  it('counts netlink requests that change something: RTM_NEW*, and nftables messages other than GETs', () => {
    assert.equal(countSyscalls(LOG).netlinkWrites, 2);
  });

  it('joins a call that another thread interrupted with its resumption', () => {
    const interleaved = [
      '7400  execve("/opt/governor/native/build/governor-monitor", ["governor-monitor"], 0x7ffd /* 9 vars */ <unfinished ...>',
      '7345  write(35</sys/fs/cgroup/unified/governor/tenants/a/pids.max>, "1"..., 3 <unfinished ...>',
      '7346  clone3({flags=CLONE_VM|CLONE_THREAD, exit_signal=0}, 88) = 7352',
      '7400  <... execve resumed>) = 0',
      '7345  <... write resumed>) = 3',
      '7401  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD <unfinished ...>',
      '7401  <... clone resumed>, child_tidptr=0x7f) = 7402',
    ].join('\n');
    const count = countSyscalls(interleaved);
    assert.deepEqual(count.execs, ['governor-monitor']);
    assert.deepEqual(count.kernelFileWrites, ['/sys/fs/cgroup/unified/governor/tenants/a/pids.max']);
    assert.equal(count.forks, 1);
  });

  it('counts nothing in a log of reads and dumps', () => {
    const quiet =
      '7345  sendto(20<NETLINK:[ROUTE:7345]>, [{nlmsg_len=32, nlmsg_type=RTM_GETQDISC, nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP}], 32, 0, NULL, 0) = 32';
    assert.deepEqual(countSyscalls(quiet), { execs: [], forks: 0, kernelFileWrites: [], netlinkWrites: 0, netlinkSamples: [] });
  });
});
