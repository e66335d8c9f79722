import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { hostScratch } from '../support/cgroup-root';
import { createDatabase, dropDatabase, ROOT_TOKEN } from '../support/governor.harness';
import { GOVCTL_BIN, type GovctlResult, runGovctl, TmuxSession } from '../support/govctl.process';
import { type ServiceProcess, startService } from '../support/service.process';

// govctl against a real governor process (role all, on this host's cgroup v2 core), run as users run it:
// the bin launcher in a process of its own, with HOME in a scratch directory for its config file.
const host = hostScratch('govctl');
const home = mkdtempSync(join(tmpdir(), 'govctl-home-'));
let databaseUrl: string | undefined;
let service: ServiceProcess;
const sessions: TmuxSession[] = [];

before(async () => {
  databaseUrl = await createDatabase();
  service = await startService({
    DATABASE_URL: databaseUrl,
    GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN,
    ...host.env,
    GOVERNOR_NET_POOL: '10.241.0.0/24',
    GOVERNOR_RESYNC_INTERVAL: '2s',
    GOVERNOR_LOG_LEVEL: 'warn',
  });
});
after(async () => {
  for (const session of sessions) session.kill();
  await service?.stop();
  if (databaseUrl) await dropDatabase(databaseUrl);
  host.cleanup();
  rmSync(home, { recursive: true, force: true });
});

/** govctl as an admin, connected through the environment; `env` adds to or overrides that. */
function govctl(args: string[], env: Record<string, string> = {}, input = ''): Promise<GovctlResult> {
  return runGovctl(args, { HOME: home, GOVERNOR_URL: service.url, GOVERNOR_TOKEN: ROOT_TOKEN, ...env }, input);
}

async function ok(args: string[], env: Record<string, string> = {}): Promise<string> {
  const res = await govctl(args, env);
  assert.equal(res.code, 0, `govctl ${args.join(' ')}: exit ${res.code}\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

async function json<T>(args: string[], env: Record<string, string> = {}): Promise<T> {
  return JSON.parse(await ok([...args, '-o', 'json'], env)) as T;
}

type Tenant = {
  name: string;
  generation: number;
  resourceVersion: number;
  suspended: boolean;
  quota: Record<string, Record<string, unknown>>;
  status: { phase: string; observedGeneration: number };
};
type Workload = { id: string; state: string; exitCode: number | null; signal: string | null };

async function applied(name: string): Promise<Tenant> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const tenant = await json<Tenant>(['tenants', 'get', name]);
    if (tenant.status.observedGeneration >= tenant.generation) return tenant;
    assert.ok(Date.now() < deadline, `tenant ${name} not applied: ${JSON.stringify(tenant.status)}`);
    await sleep(200);
  }
}

async function settled(tenant: string, id: string): Promise<Workload> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const workload = (await json<Workload[]>(['ps', tenant])).find((w) => w.id === id);
    assert.ok(workload, `workload ${id} is listed`);
    if (!['starting', 'running'].includes(workload.state)) return workload;
    assert.ok(Date.now() < deadline, `workload ${id} still ${workload.state}`);
    await sleep(200);
  }
}

const lines = (text: string) => text.trimEnd().split('\n');
const noStack = (res: GovctlResult) => assert.doesNotMatch(res.stderr, /\n\s+at /, `no stack trace:\n${res.stderr}`);

describe('govctl: connection, errors and exit codes', () => {
  it('exits 3 when no server is configured or it cannot be reached, saying why', async () => {
    const none = await runGovctl(['tenants', 'list'], { HOME: home });
    assert.equal(none.code, 3);
    assert.match(none.stderr, /no server: give --server, set GOVERNOR_URL, or run govctl login/);
    const refused = await govctl(['tenants', 'list'], { GOVERNOR_URL: 'http://127.0.0.1:2' });
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /^error: cannot reach http:\/\/127\.0\.0\.1:2: .*ECONNREFUSED/);
    noStack(refused);
  });

  it('exits 2 on a usage error, 1 on an API error, 4 on not found and 5 on a conflict, printing the problem readably', async () => {
    const usage = await govctl(['tenants', 'frobnicate']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /unknown command 'frobnicate'/);
    assert.equal((await govctl(['-o', 'xml', 'tenants', 'list'])).code, 2);

    const unauthorized = await govctl(['tenants', 'list'], { GOVERNOR_TOKEN: 'not-a-token-at-all-0000' });
    assert.equal(unauthorized.code, 1);
    assert.match(unauthorized.stderr, /^error: 401 Unauthorized: /);

    const invalid = await govctl(['tenants', 'create', 'bad-quota', '--memory', '12Q', '--pids', '0']);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /^error: 400 Bad Request: /);
    assert.match(invalid.stderr, /\n {2}quota\.memory\.max: must be a size/);
    assert.match(invalid.stderr, /\n {2}quota\.pids\.max: /);
    assert.match(invalid.stderr, /\n {2}request id: [0-9a-f-]{36}/);
    noStack(invalid);

    const missing = await govctl(['tenants', 'get', 'nobody']);
    assert.equal(missing.code, 4);
    assert.match(missing.stderr, /^error: 404 Not Found: .*nobody/);

    await ok(['tenants', 'create', 'twice']);
    const conflict = await govctl(['tenants', 'create', 'twice']);
    assert.equal(conflict.code, 5);
    assert.match(conflict.stderr, /^error: 409 Conflict: /);
  });

  it('documents the exit codes and gives examples in the help of every command', async () => {
    const help = await ok(['--help']);
    assert.match(help, /Exit codes:\n {2}0 {2}ok\n {2}1 {2}API error.*\n {2}2 {2}usage.*\n {2}3 {2}connection.*\n {2}4 {2}not found\n {2}5 {2}conflict/);
    const commands = [
      ['login'],
      ['tenants'],
      ['tenants', 'list'],
      ['tenants', 'get'],
      ['tenants', 'create'],
      ['tenants', 'delete'],
      ['tenants', 'suspend'],
      ['tenants', 'resume'],
      ['tenants', 'history'],
      ['edit'],
      ['quota', 'set'],
      ['run'],
      ['ps'],
      ['logs'],
      ['stop'],
      ['top'],
      ['nodes'],
      ['requests', 'list'],
      ['requests', 'approve'],
      ['requests', 'reject'],
      ['keys', 'create'],
      ['keys', 'list'],
      ['keys', 'revoke'],
      ['tokens', 'create'],
      ['tokens', 'list'],
      ['tokens', 'revoke'],
      ['me'],
      ['me', 'usage'],
      ['me', 'request'],
      ['completion'],
      ['config', 'contexts'],
      ['config', 'use'],
    ];
    for (const command of commands) {
      const text = await ok([...command, '--help']);
      assert.match(text, /\nExamples:\n {2}.*govctl /, `govctl ${command.join(' ')} --help has examples`);
    }
  });
});

describe('govctl login and the config file', () => {
  it('saves a context with mode 0600 that later commands use, below flags and the environment', async () => {
    const configHome = mkdtempSync(join(home, 'login-'));
    const res = await runGovctl(['login', service.url, '--name', 'local'], { HOME: configHome }, `${ROOT_TOKEN}\n`);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Logged in to http:\/\/127\.0\.0\.1:\d+ as admin; context "local" saved/);
    const path = join(configHome, '.config', 'governor', 'config.yaml');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.match(
      readFileSync(path, 'utf8'),
      /current-context: local\ncontexts:\n {2}- name: local\n {4}server: http:\/\/127\.0\.0\.1:\d+\n {4}token: test-root-token/,
    );

    const fromConfig = await runGovctl(['tenants', 'list', '-o', 'json'], { HOME: configHome });
    assert.equal(fromConfig.code, 0, fromConfig.stderr);
    assert.ok(Array.isArray(JSON.parse(fromConfig.stdout)));
    assert.match(
      (await runGovctl(['config', 'contexts'], { HOME: configHome })).stdout,
      /^CURRENT {3}NAME {4}SERVER {2,}CREDENTIAL\n\* {9}local {3}http:\/\/127\.0\.0\.1:\d+ {3}admin token\n$/,
    );

    // The environment beats the file, and a flag beats the environment.
    assert.equal((await runGovctl(['tenants', 'list'], { HOME: configHome, GOVERNOR_URL: 'http://127.0.0.1:1' })).code, 3);
    assert.equal((await runGovctl(['tenants', 'list', '--server', service.url], { HOME: configHome, GOVERNOR_URL: 'http://127.0.0.1:1' })).code, 0);

    const wrong = await runGovctl(['login', service.url], { HOME: configHome }, 'wrong-token-0000000000\n');
    assert.equal(wrong.code, 1, 'a token the server refuses is not saved');
    assert.doesNotMatch(readFileSync(path, 'utf8'), /wrong-token/);
  });
});

describe('govctl tenants, quota and edit', () => {
  it('creates, lists, shows, suspends, resumes and deletes tenants, in tables and as JSON and YAML', async () => {
    assert.equal(
      await ok(['tenants', 'create', 'acme', '--display-name', 'Acme Corp', '--cpu', '1.5', '--memory', '512Mi', '--pids', '256', '--ingress', '100Mbit']),
      'tenant/acme created (cpu=1.5 mem=512Mi pids=256 in=100Mbit)\n',
    );
    await applied('acme');
    const table = lines(await ok(['tenants', 'list']));
    assert.match(table[0], /^NAME {3,}PHASE {3,}QUOTA {3,}AGE$/);
    assert.ok(
      table.some((row) => /^acme {3,}(Ready|Degraded) {3,}cpu=1\.5 mem=512Mi pids=256 in=100Mbit {3,}\d+s$/.test(row)),
      table.join('\n'),
    );
    assert.match(lines(await ok(['tenants', 'list', '-o', 'wide']))[0], /^NAME .* DISPLAY NAME {3,}GENERATION {3,}ADDRESS {3,}UIDS {3,}CONDITIONS$/);

    const listed = await json<Tenant[]>(['tenants', 'list']);
    const acme = listed.find((t) => t.name === 'acme');
    assert.deepEqual(acme?.quota, { cpu: { max: '1.5' }, memory: { max: 536870912 }, pids: { max: 256 }, network: { ingress: 100000000 } });

    const shown = await ok(['tenants', 'get', 'acme']);
    assert.match(shown, /^Name: {13}acme\nDisplay name: {5}Acme Corp\nPhase: {12}(Ready|Degraded)\n/);
    assert.match(shown, /\nQuota:\n {2}cpu\.max: 1\.5\n {2}memory\.max: 512Mi\n {2}pids\.max: 256\n {2}network\.ingress: 100Mbit\n/);
    assert.match(await ok(['tenants', 'get', 'acme', '-o', 'yaml']), /^id: [0-9a-f-]{36}\nname: acme\ndisplayName: Acme Corp\n/);

    assert.match(await ok(['tenants', 'suspend', 'acme']), /^tenant\/acme suspending \(suspended=true\)\n$/);
    assert.equal((await json<Tenant>(['tenants', 'get', 'acme'])).suspended, true);
    assert.match(await ok(['tenants', 'resume', 'acme']), /^tenant\/acme resuming \(suspended=false\)\n$/);
    assert.equal((await json<Tenant>(['tenants', 'get', 'acme'])).suspended, false);

    await ok(['tenants', 'create', 'doomed']);
    assert.match(await ok(['tenants', 'delete', 'doomed']), /^tenant\/doomed deleting \(phase Terminating\)\n$/);
    const deadline = Date.now() + 30_000;
    while ((await govctl(['tenants', 'get', 'doomed'])).code !== 4) {
      assert.ok(Date.now() < deadline, 'the deleted tenant goes away');
      await sleep(200);
    }
  });

  it('shows the plan of a quota change, asks, and applies it only when told; the history lists the change', async () => {
    await applied('acme');
    const before = await json<Tenant>(['tenants', 'get', 'acme']);
    const dry = await ok(['quota', 'set', 'acme', '--memory', '1Gi', '--pids', '512', '--dry-run']);
    assert.match(dry, /^Plan for tenant acme: quota after the change: cpu=1\.5 mem=1Gi pids=512 in=100Mbit\nnode \S+:\n/);
    // This host's v2 tree has no memory or pids controller: the plan says so rather than pretending to write.
    assert.match(dry, /\n {2}warning: memory limits not enforced: controller memory unavailable/);
    const planJson = await json<{ nodes: Array<{ node: string; warnings: string[] }> }>(['quota', 'set', 'acme', '--memory', '1Gi', '--dry-run']);
    assert.equal(planJson.nodes.length, 1);
    assert.equal((await json<Tenant>(['tenants', 'get', 'acme'])).resourceVersion, before.resourceVersion, 'a dry run changes nothing');

    const unasked = await govctl(['quota', 'set', 'acme', '--memory', '1Gi']);
    assert.equal(unasked.code, 2);
    assert.match(unasked.stderr, /not a terminal to ask on: pass --yes to apply, or --dry-run/);

    // On a terminal it asks; "n" leaves the tenant alone.
    const tmux = new TmuxSession('quota', { width: 160, height: 20 });
    sessions.push(tmux);
    tmux.start(`"${process.execPath}" "${GOVCTL_BIN}" quota set acme --memory 1Gi; echo "exit=$?"`, {
      HOME: home,
      GOVERNOR_URL: service.url,
      GOVERNOR_TOKEN: ROOT_TOKEN,
    });
    await tmux.until((screen) => /Apply this change to tenant acme\? \[y\/N\]/.test(screen), 'the question');
    tmux.keys('n', 'Enter');
    assert.match(await tmux.until((screen) => /^exit=\d+$/m.test(screen), 'the answer'), /Not applied\.\nexit=0/);
    tmux.kill();
    assert.equal((await json<Tenant>(['tenants', 'get', 'acme'])).resourceVersion, before.resourceVersion, 'answered no: nothing changed');

    const applied1 = await ok(['quota', 'set', 'acme', '--memory', '1Gi', '--pids', '512', '--yes']);
    assert.match(applied1, /\ntenant\/acme quota set: cpu=1\.5 mem=1Gi pids=512 in=100Mbit \(generation \d+\)\n$/);
    assert.deepEqual((await json<Tenant>(['tenants', 'get', 'acme'])).quota.memory, { max: 1073741824 });

    const history = lines(await ok(['tenants', 'history', 'acme']));
    assert.match(history[0], /^AT {3,}ACTOR {3,}GENERATION {3,}CHANGE$/);
    assert.match(history.join('\n'), /admin:root {3,}\d+ {3,}memory\.max 512Mi→1Gi, pids\.max 256→512/);
    assert.ok((await json<unknown[]>(['tenants', 'history', 'acme'])).length >= 2);
  });

  it('edits the spec in $EDITOR and sends what changed with If-Match; an edit over a newer change exits 5', async () => {
    const dir = mkdtempSync(join(home, 'editor-'));
    const editor = join(dir, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i -e "s/max: 1Gi/max: 768Mi/" -e "s/^displayName: .*/displayName: Acme Edited/" "$1"\n');
    chmodSync(editor, 0o755);
    assert.match(await ok(['edit', 'acme'], { EDITOR: editor }), /^tenant\/acme edited \(resource version \d+, generation \d+\)\n$/);
    const edited = await json<Tenant & { displayName: string }>(['tenants', 'get', 'acme']);
    assert.deepEqual([edited.displayName, edited.quota.memory], ['Acme Edited', { max: 805306368 }]);
    assert.deepEqual(edited.quota.pids, { max: 512 }, 'fields the edit did not touch stay');

    const unchanged = await govctl(['edit', 'acme'], { EDITOR: 'true' });
    assert.equal(unchanged.code, 0);
    assert.match(unchanged.stderr, /Edit cancelled: no changes made\./);

    // While the editor is open, someone else changes the tenant: the edit must not undo that.
    const racing = join(dir, 'racing.sh');
    writeFileSync(
      racing,
      `#!/bin/sh\n"${process.execPath}" "${GOVCTL_BIN}" quota set acme --pids 300 --yes >/dev/null\nsed -i "s/max: 768Mi/max: 640Mi/" "$1"\n`,
    );
    chmodSync(racing, 0o755);
    const stale = await govctl(['edit', 'acme'], { EDITOR: racing });
    assert.equal(stale.code, 5, stale.stderr);
    assert.match(stale.stderr, /^error: 412 Precondition Failed: /);
    assert.deepEqual((await json<Tenant>(['tenants', 'get', 'acme'])).quota.memory, { max: 805306368 });
  });
});

describe('govctl run, ps, logs and stop', () => {
  before(async () => {
    await ok(['tenants', 'create', 'work']);
    await applied('work');
  });

  it("streams stdout and stderr and exits with the workload's exit code, or 128+signal", async () => {
    const res = await govctl(['run', 'work', '--', '/bin/sh', '-c', 'echo out1; echo err1 >&2; sleep 1; echo out2; exit 7']);
    assert.equal(res.code, 7, res.stderr);
    assert.equal(res.stdout, 'out1\nout2\n');
    assert.equal(res.stderr, 'err1\n');
    const killed = await govctl(['run', 'work', '--', '/bin/sh', '-c', 'kill -TERM $$']);
    assert.equal(killed.code, 128 + 15);
    assert.match(killed.stderr, /govctl: workload \S+ killed by SIGTERM/);
    const env = await govctl(['run', 'work', '-e', 'GREETING=hello', '--', '/bin/sh', '-c', 'echo "$GREETING from uid $(id -u)"']);
    assert.equal(env.stdout, 'hello from uid 0\n');
    const bad = await govctl(['run', 'work', '--', 'relative/path']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /command\[0\]: must be an absolute path/);
  });

  it('lists workloads, shows and follows their logs, and stops one', async () => {
    const id = (await ok(['run', 'work', '--detach', '--', '/bin/sh', '-c', 'for i in 1 2 3 4 5 6; do echo line$i; sleep 0.3; done; echo done >&2'])).trim();
    assert.match(id, /^[a-z0-9]{8,}$/);
    const table = lines(await ok(['ps', 'work']));
    assert.match(table[0], /^ID {3,}STATE {3,}PID {3,}EXIT {3,}AGE {3,}COMMAND$/);
    assert.ok(
      table.some((row) => row.startsWith(`${id}   `) && row.endsWith('/bin/sh -c for i in 1 2 3 4 5 6; do echo line$i; sleep 0.3; done; echo done >&2')),
      table.join('\n'),
    );
    const followed = await govctl(['logs', 'work', id, '-f', '--tail', '1']);
    assert.equal(followed.code, 0);
    const printed = followed.stdout.trim().split('\n');
    assert.equal(printed.at(-1), 'line6', 'following ends with the last line the workload wrote');
    assert.deepEqual(printed, [...new Set(printed)], 'no line twice');
    assert.equal(followed.stderr, 'done\n');
    assert.equal(await ok(['logs', 'work', id, '--tail', '2', '--stream', 'stdout']), 'line5\nline6\n');
    assert.equal(await ok(['logs', 'work', id, '--tail', '1']), '==> stdout <==\nline6\n==> stderr <==\ndone\n');

    const sleeper = (await ok(['run', 'work', '-d', '--', '/bin/sleep', '300'])).trim();
    assert.equal(await ok(['stop', 'work', sleeper, '--grace', '0s']), `workload/${sleeper} stopping (grace 0s)\n`);
    const stopped = await settled('work', sleeper);
    assert.equal(stopped.state, 'killed');
    const listed = await json<Workload[]>(['ps', 'work']);
    assert.ok(listed.some((w) => w.id === id && w.state === 'exited' && w.exitCode === 0));
    assert.equal((await govctl(['logs', 'work', 'nosuchworkload'])).code, 4);
  });

  it('stops the workload on Ctrl-C in a real terminal and exits 128+SIGTERM', async () => {
    const tmux = new TmuxSession('run');
    sessions.push(tmux);
    tmux.start(`"${process.execPath}" "${GOVCTL_BIN}" run work --grace 2s -- /bin/sh -c 'echo started; exec /bin/sleep 300'; echo "exit=$?"`, {
      HOME: home,
      GOVERNOR_URL: service.url,
      GOVERNOR_TOKEN: ROOT_TOKEN,
    });
    await tmux.until((screen) => /^started$/m.test(screen), 'the workload started');
    tmux.keys('C-c');
    const screen = await tmux.until((s) => /^exit=\d+$/m.test(s), 'govctl exits');
    assert.match(screen, /govctl: stopping workload (\S+) \(grace 2s; Ctrl-C again to kill it now\)/);
    assert.match(screen, /^exit=143$/m);
    const id = /stopping workload (\S+)/.exec(screen)![1];
    const workload = (await json<Workload[]>(['ps', 'work'])).find((w) => w.id === id);
    assert.deepEqual([workload?.state, workload?.signal], ['killed', 'SIGTERM']);
    tmux.kill();
  });
});

describe('govctl keys, tokens, me, requests and nodes', () => {
  it('issues a tenant key that works with me, me usage and me request; an admin approves and rejects; a revoked key stops working', async () => {
    const key = (await ok(['keys', 'create', 'acme', 'cli', '--expires-in', '30d'])).trim();
    assert.match(key, /^gvt_\S+$/);
    const keys = lines(await ok(['keys', 'list', 'acme']));
    assert.match(keys[0], /^ID {3,}NAME {3,}PREFIX {3,}STATE {3,}EXPIRES {3,}LAST USED$/);
    assert.match(keys[1], /^[0-9a-f-]{36} {3}cli {3,}gvt_\S+ {3}active {3}20\d\d-/);
    const asTenant = { GOVERNOR_TOKEN: key };

    assert.match(await ok(['me'], asTenant), /^Name: {13}acme\n/);
    assert.match(await ok(['me', 'usage'], asTenant), /\nCPU time: {9}[\d.]+s/);
    assert.equal((await json<{ usage: { frozen: boolean } }>(['me', 'usage'], asTenant)).usage.frozen, false);
    assert.match(await ok(['ps', 'acme'], asTenant), /^No workloads\.\n$|^ID /, 'a tenant key lists its own workloads');
    assert.equal((await govctl(['ps', 'work'], asTenant)).code, 4, "another tenant's workloads are not found");
    const mine = await govctl(['run', 'acme', '--', '/bin/sh', '-c', 'echo from the key; exit 3'], asTenant);
    assert.deepEqual([mine.code, mine.stdout], [3, 'from the key\n'], 'a tenant key runs workloads through /v1/me');
    const ownTop = await ok(['top', '--batch', '-n', '1'], asTenant);
    assert.match(ownTop, / - 1 tenants - /);
    assert.match(ownTop, /\nacme +\S+ +/);

    const asked = await ok(['me', 'request', '--memory', '2Gi', '--reason', 'bigger builds'], asTenant);
    assert.match(asked, /^request\/([0-9a-f-]{36}) pending: memory\.max=2Gi\nPlan for tenant acme: /);
    const requestId = /^request\/(\S+)/.exec(asked)![1];
    const pending = lines(await ok(['requests', 'list', '--state', 'pending']));
    assert.match(pending[0], /^ID {3,}TENANT {3,}STATE {3,}CHANGE {3,}AGE {3,}REASON$/);
    assert.match(pending[1], new RegExp(`^${requestId} {3}acme {3,}pending {3}memory\\.max=2Gi {3,}\\d+s {3,}bigger builds$`));
    assert.match(await ok(['requests', 'approve', requestId]), new RegExp(`^request/${requestId} approved \\(tenant acme: memory\\.max=2Gi\\)\\n$`));
    assert.deepEqual((await json<Tenant>(['tenants', 'get', 'acme'])).quota.memory, { max: 2147483648 });
    assert.equal((await govctl(['requests', 'approve', requestId])).code, 5, 'a decided request is a conflict');

    const second = /^request\/(\S+)/.exec(await ok(['me', 'request', '--cpu', '4', '--reason', 'more'], asTenant))![1];
    assert.equal((await govctl(['requests', 'reject', second])).code, 2, 'reject needs a reason');
    assert.match(await ok(['requests', 'reject', second, '--reason', 'not this month']), / rejected /);
    const myRequests = await json<Array<{ id: string; state: string; decisionReason: string | null }>>(['me', 'requests'], asTenant);
    const rejected = myRequests.find((r) => r.id === second);
    assert.deepEqual([rejected?.state, rejected?.decisionReason], ['rejected', 'not this month']);

    const keyId = (await json<Array<{ id: string; name: string }>>(['keys', 'list', 'acme'])).find((k) => k.name === 'cli')!.id;
    assert.equal(await ok(['keys', 'revoke', 'acme', keyId]), `key/${keyId} revoked\n`);
    const revoked = await govctl(['me'], asTenant);
    assert.equal(revoked.code, 1);
    assert.match(revoked.stderr, /^error: 401 Unauthorized/);
  });

  it('creates, lists and revokes admin tokens', async () => {
    const token = (await ok(['tokens', 'create', 'ci', '--expires-in', '90d'])).trim();
    assert.match(token, /^gva_\S+$/);
    assert.equal((await govctl(['tenants', 'list'], { GOVERNOR_TOKEN: token })).code, 0);
    const table = lines(await ok(['tokens', 'list']));
    assert.match(table[0], /^ID {3,}NAME {3,}EXPIRES {3,}AGE$/);
    const ci = (await json<Array<{ id: string; name: string }>>(['tokens', 'list'])).find((t) => t.name === 'ci')!;
    assert.ok(
      table.some((row) => new RegExp(`^${ci.id} {3}ci {3,}20`).test(row)),
      table.join('\n'),
    );
    assert.equal(await ok(['tokens', 'revoke', ci.id]), `token/${ci.id} revoked\n`);
    assert.equal((await govctl(['tenants', 'list'], { GOVERNOR_TOKEN: token })).code, 1);
  });

  it('lists nodes with their kernel, cgroup mode and missing controllers', async () => {
    const table = lines(await ok(['nodes']));
    assert.match(table[0], /^NAME {3,}STATUS {3,}ROLE {3,}KERNEL {3,}CGROUP {3,}MISSING {3,}HEARTBEAT$/);
    assert.match(table[1], /^\S+ {3,}Alive {3,}all {3,}\S+ {3,}(hybrid|unified) /);
    const nodes = await json<Array<{ role: string; controllers: { missing: string[] } }>>(['nodes']);
    assert.equal(nodes[0].role, 'all');
  });
});

describe('govctl completion', () => {
  it('loads in bash and completes commands, options and tenant names from the API', async () => {
    const bin = mkdtempSync(join(home, 'bin-'));
    symlinkSync(GOVCTL_BIN, join(bin, 'govctl'));
    const script = (await ok(['completion', 'bash'])).replace(/'/g, `'\\''`);
    const complete = (line: string) => {
      const res = spawnSync(
        'bash',
        [
          '-c',
          `eval '${script}' || exit 2; complete -p govctl >/dev/null || exit 3
           read -ra COMP_WORDS <<< "govctl ${line}"; [[ "${line}" == *" " || -z "${line}" ]] && COMP_WORDS+=("")
           COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _govctl_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}`, HOME: home, GOVERNOR_URL: service.url, GOVERNOR_TOKEN: ROOT_TOKEN } },
      );
      assert.equal(res.status, 0, res.stderr);
      assert.equal(res.stderr, '', 'the script loads and runs without an error');
      return res.stdout.trim().split('\n').filter(Boolean);
    };
    assert.deepEqual(complete('tenants g'), ['get']);
    const names = (await json<Tenant[]>(['tenants', 'list'])).map((t) => t.name);
    assert.deepEqual(complete('tenants get '), names);
    assert.deepEqual(complete('run ac'), ['acme']);
    assert.deepEqual(complete('tenants list -o '), ['table', 'wide', 'json', 'yaml']);
    assert.deepEqual(complete('quota set acme --memory-h'), ['--memory-high']);
  });

  it('loads in zsh (after compinit) and registers itself for govctl', async () => {
    const bin = mkdtempSync(join(home, 'zbin-'));
    symlinkSync(GOVCTL_BIN, join(bin, 'govctl'));
    const script = await ok(['completion', 'zsh']);
    assert.match(script, /^#compdef govctl\n/);
    // compadd works only inside a completion widget; a stand-in prints what the script would offer.
    const res = spawnSync(
      'zsh',
      [
        '-f',
        '-c',
        `autoload -U compinit && compinit -u -d "$HOME/.zcompdump"; source <(govctl completion zsh); [[ \${_comps[govctl]} == _govctl ]] || exit 3
         compadd() { [[ $1 == -a ]] && print -l -- \${(P)2} }; words=(govctl tenants get ''); CURRENT=4; _govctl`,
      ],
      { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}`, HOME: home, GOVERNOR_URL: service.url, GOVERNOR_TOKEN: ROOT_TOKEN } },
    );
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stderr, '');
    assert.deepEqual(
      res.stdout.trim().split('\n'),
      (await json<Tenant[]>(['tenants', 'list'])).map((t) => t.name),
    );
  });
});

describe('govctl top in a real terminal', () => {
  it('shows tenants live, the busy one first by CPU; keys change the sort; q quits', async () => {
    await ok(['tenants', 'create', 'spin', '--cpu', '0.5']);
    await ok(['tenants', 'create', 'calm']);
    await applied('spin');
    await applied('calm');
    const burner = (await ok(['run', 'spin', '-d', '--', '/bin/sh', '-c', 'while :; do :; done'])).trim();
    const tmux = new TmuxSession('top', { width: 200, height: 30 });
    sessions.push(tmux);
    try {
      tmux.start(`"${process.execPath}" "${GOVCTL_BIN}" top --delay 1; echo "exit=$?"`, {
        HOME: home,
        GOVERNOR_URL: service.url,
        GOVERNOR_TOKEN: ROOT_TOKEN,
        TERM: 'xterm-256color',
      });
      const rowOf = (screen: string, name: string) => screen.split('\n').findIndex((line) => line.startsWith(`${name} `));
      const busyFirst = await tmux.until((screen) => {
        const spin = rowOf(screen, 'spin');
        return (
          spin >= 0 &&
          /sorted by cpu/.test(screen) &&
          /^spin +(Ready|Degraded) +\d+(\.\d)?% +0\.5 /m.test(screen) &&
          screen.split('\n')[spin - 1]?.startsWith('TENANT')
        );
      }, 'spin at the top, sorted by CPU');
      assert.match(busyFirst, /^govctl top - http:\/\/127\.0\.0\.1:\d+ - \d+ tenants - every 1s - sorted by cpu/);
      assert.match(busyFirst, /^TENANT +PHASE +CPU% +CAP +THR% +MEMORY +MEM MAX +TASKS +PIDS MAX +READ +WRITE +PSI CPU +PSI MEM +PSI IO +WL$/m);
      const spinCpu = Number(/^spin +\S+ +([\d.]+)%/m.exec(busyFirst)![1]);
      assert.ok(spinCpu > 20, `the busy tenant uses CPU: ${spinCpu}%`);
      assert.match(busyFirst, /^spin .* 1$/m, 'one running workload');
      assert.match(tmux.capture(true), /\x1b\[[0-9;]*m/, 'with colour on a terminal that has it');

      tmux.keys('p');
      const byName = await tmux.until((screen) => /sorted by name/.test(screen), 'sorted by name');
      assert.ok(rowOf(byName, 'calm') < rowOf(byName, 'spin') && rowOf(byName, 'calm') > 0, byName);
      assert.equal(byName.split('\n')[rowOf(byName, 'acme')]?.startsWith('acme'), true);
      assert.ok(rowOf(byName, 'acme') < rowOf(byName, 'calm'), 'a to z');

      tmux.keys('c');
      await tmux.until((screen) => /sorted by cpu/.test(screen) && rowOf(screen, 'spin') === 3, 'back to CPU');

      tmux.keys('q');
      await tmux.until((screen) => /^exit=0$/m.test(screen), 'q quits with 0 and restores the screen');
    } finally {
      tmux.kill();
      await ok(['stop', 'spin', burner, '--grace', '0s']);
    }
  });

  it("shows a tenant's workloads with `top TENANT`, and plain frames with --batch", async () => {
    const id = (await ok(['run', 'calm', '-d', '--', '/bin/sleep', '300'])).trim();
    const frames = await ok(['top', 'calm', '--batch', '-n', '2', '-d', '0.5']);
    assert.match(frames, /^govctl top - \S+ - tenant calm: 1 running workloads - /);
    assert.match(frames, /\nWORKLOAD +STATE +PID +CPU% +MEMORY +AGE +COMMAND\n/);
    assert.match(frames, new RegExp(`\\n${id} +running +\\d+ +\\S+ +\\S+ +\\d+s +/bin/sleep 300\\n`));
    assert.doesNotMatch(frames, /\x1b\[/, 'no escape sequences when stdout is not a terminal');
    await ok(['stop', 'calm', id, '--grace', '0s']);
  });
});
