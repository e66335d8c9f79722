import assert from 'node:assert/strict';
import { rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CgroupFileList } from '../../libs/cgroup/src/collect';
import { CgroupDriver } from '../../libs/cgroup/src/driver';
import { KoffiNative } from '../../libs/native/src/native';
import { removeCgroupTree, scratchCgroupRoot } from '../support/cgroup-root';

// A scrape's read of every tenant's files (CgroupFs.readList over gv_read_tree_beneath) on this host's v2
// tree, core files only in hybrid mode: what it reads must be what the files hold, file by file.
const root = scratchCgroupRoot('scrape-list');
const FILES = ['cgroup.events', 'cpu.stat', 'cpu.pressure', 'memory.pressure', 'io.pressure'];
let driver: CgroupDriver;

before(async () => {
  driver = await CgroupDriver.start({ root, native: new KoffiNative() });
  for (let i = 0; i < 150; i++) await driver.fs.ensureDir(`tenants/t${i}`);
});
after(() => {
  driver?.close();
  removeCgroupTree(root);
});

function listOf(tenants: number, extra: Array<[string, string]> = []): CgroupFileList {
  const list = new CgroupFileList();
  for (let i = 0; i < tenants; i++) for (const file of FILES) list.add(`tenants/t${i}`, file);
  for (const [dir, file] of extra) list.add(dir, file);
  return list;
}

/** The texts of the files whose content does not move between two reads (cgroup.events of an idle cgroup). */
const eventsOf = (list: CgroupFileList, texts: ReadonlyArray<string | undefined>) =>
  list.entries.flatMap(([dir, file], i) => (file === 'cgroup.events' ? [`${dir} ${texts[i]}`] : []));

describe('reading a whole list of cgroup files', () => {
  it('reads in one native call what each file holds, a missing file and a missing cgroup as undefined', async () => {
    const list = listOf(3, [
      ['tenants/t0', 'memory.peak'],
      ['tenants/nobody', 'cgroup.events'],
    ]);
    const calls = driver.fs.batchReads;
    const { texts, errors } = await driver.fs.readList(list);
    assert.equal(driver.fs.batchReads - calls, 1);
    assert.equal(errors.size, 0);
    for (const [i, [dir, file]] of list.entries.entries()) {
      if (file === 'cgroup.events' && dir !== 'tenants/nobody') assert.equal(texts[i], await driver.fs.read(dir, file), `${dir}/${file}`);
      else if (file === 'cpu.stat') assert.match(texts[i] ?? '', /^usage_usec \d+$/m);
    }
    assert.equal(texts[list.indexOf('tenants/t0', 'memory.peak') ?? -1], undefined, 'no memory controller here: no such file');
    assert.equal(texts[list.indexOf('tenants/nobody', 'cgroup.events') ?? -1], undefined);
  });

  it('reads a list of hundreds of cgroups in two calls side by side, past a first buffer too small for it', async () => {
    const list = listOf(150);
    const calls = driver.fs.batchReads;
    const { texts, errors } = await driver.fs.readList(list);
    assert.equal(driver.fs.batchReads - calls, 2);
    assert.equal(errors.size, 0);
    assert.equal(texts.length, 750);
    assert.ok(
      texts.every((text) => text !== undefined && text.length > 0),
      'every file read',
    );
    const expected = await Promise.all(list.entries.map(async ([dir, file]) => (file === 'cgroup.events' ? driver.fs.read(dir, file) : undefined)));
    assert.deepEqual(eventsOf(list, texts), eventsOf(list, expected));
    // The second read of the same list asks for a buffer that holds it all at once.
    assert.deepEqual(eventsOf(list, (await driver.fs.readList(list)).texts), eventsOf(list, expected));
  });

  it('sees a cgroup removed since the list was made as missing, not as an error', async () => {
    await driver.fs.ensureDir('tenants/short-lived');
    const list = listOf(1, [['tenants/short-lived', 'cgroup.events']]);
    assert.match((await driver.fs.readList(list)).texts.at(-1) ?? '', /^populated 0$/m);
    rmdirSync(join(root, 'tenants/short-lived'));
    const { texts, errors } = await driver.fs.readList(list);
    assert.equal(texts.at(-1), undefined);
    assert.equal(errors.size, 0);
  });
});
