import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, open, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { GovernorNative } from '../../native/src/native.types';

/**
 * Tenants' persistent homes: one ext4 image per tenant under <data dir>/homes/<tenant id>.img, loop-mounted on
 * <run dir>/homes/<tenant> and bound by the tenant init to /home/tenant. An image file, not a directory with a
 * project quota, because the limit must hold on any filesystem the data directory lives on (ext4 project quotas
 * need the prjquota feature and mount option, XFS its own tools) and the size is then the file's size: ENOSPC
 * inside at the limit, nothing to account outside. mkfs makes the root directory the tenant's root outside
 * (root_owner), with no blocks reserved for the host's root. A cold pass over many tenants pays no process per
 * home: mkfs.ext4 runs once per size and process, for a template that each image is copied from (its data only)
 * with a UUID, hash seed and root owner of its own (gv_home_image), and the image is loop-mounted in process
 * (gv_loop_mount) rather than by `mount -o loop`, whose libmount and blkid probing and scan of every loop device
 * made it the dearest step of a home.
 */
export class TenantHomes {
  constructor(
    private readonly dataDir: string,
    private readonly runDir: string,
    private readonly native: Pick<GovernorNative, 'homeImageAsync' | 'loopMountAsync' | 'makeSharedMount'>,
  ) {}

  /** Whether <run dir>/homes was made a mount of its own by this process (tried once). */
  private homesDirMounted = false;

  /** The template of each home size, made by the first home of that size this process makes. */
  private readonly templates = new Map<number, Promise<string>>();

  image(tenantId: string): string {
    if (!/^[0-9a-f-]{36}$/.test(tenantId)) throw new Error(`refusing a home path for tenant id ${JSON.stringify(tenantId)}`);
    return join(this.dataDir, 'homes', `${tenantId}.img`);
  }

  mountPoint(tenant: string): string {
    if (!/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/.test(tenant)) throw new Error(`refusing a home path for ${JSON.stringify(tenant)}`);
    return join(this.runDir, 'homes', tenant);
  }

  /**
   * Makes the image (sparse, `size` bytes) if missing, grows it when `size` is larger than it is, and mounts it.
   * Returns what it changed. A smaller `size` is not applied: shrinking ext4 needs it unmounted and may not fit.
   */
  async ensure(tenant: string, tenantId: string, uidBase: number, size: number): Promise<string[]> {
    const changes: string[] = [];
    const image = this.image(tenantId);
    const point = this.mountPoint(tenant);
    // A home in place costs a few stats, a readlink and a sysfs read, made in place (none blocks: /run is a
    // tmpfs, sysfs is made on read); each directory is made only when missing.
    if (!this.homesDirMounted) await this.prepare();
    if (statSync(point, { throwIfNoEntry: false }) === undefined) await mkdir(point, { recursive: true, mode: 0o700 });
    const current = statSync(image, { throwIfNoEntry: false });
    if (current === undefined) {
      await this.native.homeImageAsync(await this.template(size), image, uidBase);
      changes.push(`made a ${size}-byte home image ${image}`);
    }
    let device = this.loopDevice(point);
    // The mount point is keyed by name: a home still mounted there from a deleted tenant of the same name
    // (deleted while this node was away) is that tenant's image, not this one's.
    const backing = device === undefined ? undefined : backingFile(device);
    if (device !== undefined && backing !== undefined && backing !== image) {
      await command(['umount', '-l', point]);
      changes.push(`unmounted ${backing}, another tenant's home, from ${point}`);
      device = undefined;
    }
    if (device === undefined) {
      await this.native.loopMountAsync(image, point);
      device = this.loopDevice(point);
      changes.push(`mounted ${image} on ${point}`);
    }
    if (current !== undefined && size > current.size && device !== undefined) {
      const file = await open(image, 'r+');
      await file.truncate(size);
      await file.close();
      await command(['losetup', '--set-capacity', device]);
      await command(['resize2fs', device]);
      changes.push(`grew the home image ${image} from ${current.size} to ${size} bytes`);
    }
    return changes;
  }

  /**
   * Makes <run dir>/homes a (shared) mount of its own, as <run dir>/ns is. Every tenant init starts from a copy of
   * the host's mounts and detaches each home in it that is not its own (a held loop mount keeps another tenant's
   * home busy); each detach waits for an RCU grace period of the kernel, so with the homes loose under /run that
   * was one wait per tenant on the host for every init start, and a cold pass grew with the square of the
   * tenants. With the directory a mount, the init detaches it whole in one call. Where the kernel refuses (a
   * kernel before 5.8, a container without the right to mount), the homes work as before, only the inits start
   * slower, so the refusal is not an error of the home. A directory with homes already mounted in it (a
   * governor of an earlier version, before a reboot) is left as it is: a bind on top would hide them, and the
   * next pass would mount each image a second time. The governor calls it at start, before it makes the mount
   * template of the inits (which must not hold the homes directory's mount); the first home calls it otherwise.
   */
  async prepare(): Promise<void> {
    if (this.homesDirMounted) return;
    this.homesDirMounted = true;
    const dir = join(this.runDir, 'homes');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const { dev } = statSync(dir);
    if (readdirSync(dir).some((entry) => statSync(join(dir, entry), { throwIfNoEntry: false })?.dev !== dev)) return;
    try {
      this.native.makeSharedMount(dir);
    } catch {
      // Left loose under the run dir: see above.
    }
  }

  /**
   * An empty ext4 image of `size` bytes, made once per size and process under <data dir>/homes/.templates (a
   * template from an earlier process is made again: nothing it holds is trusted). metadata_csum_seed keeps its
   * checksums apart from its UUID, which gv_home_image changes in each copy. A failure is not kept: the next
   * home of that size tries again.
   */
  private template(size: number): Promise<string> {
    let made = this.templates.get(size);
    if (made === undefined) {
      made = (async () => {
        const dir = join(this.dataDir, 'homes', '.templates');
        await mkdir(dir, { recursive: true, mode: 0o700 });
        const path = join(dir, `${size}.img`);
        const fresh = `${path}.new`;
        await rm(fresh, { force: true });
        const file = await open(fresh, 'wx', 0o600);
        await file.truncate(size);
        await file.close();
        await command(['mkfs.ext4', '-q', '-F', '-m', '0', '-O', 'metadata_csum_seed', fresh]);
        await rename(fresh, path);
        return path;
      })();
      this.templates.set(size, made);
      made.catch(() => this.templates.delete(size));
    }
    return made;
  }

  /** Unmounts and deletes a tenant's home; what is gone already is done. */
  async remove(tenant: string, tenantId: string | undefined): Promise<void> {
    const point = this.mountPoint(tenant);
    if (this.loopDevice(point) !== undefined) await command(['umount', '-l', point]);
    await rmdir(point).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    if (tenantId !== undefined) await rm(this.image(tenantId), { force: true });
  }

  /** Deletes the image of a tenant whose name another tenant has taken since (its mount point is that one's). */
  async removeImage(tenantId: string): Promise<void> {
    await rm(this.image(tenantId), { force: true });
  }

  /**
   * The loop device mounted on `point` in this mount namespace, if any: a mount point's device differs from
   * its parent directory's, and sysfs names the block device behind a device number. Two stats and a
   * readlink, where reading /proc/self/mountinfo would cost every mount on the host (a home and two
   * namespace files per tenant) for each tenant, on every pass.
   */
  private loopDevice(point: string): string | undefined {
    const here = statSync(point, { bigint: true, throwIfNoEntry: false });
    const parent = statSync(dirname(point), { bigint: true, throwIfNoEntry: false });
    if (here === undefined || parent === undefined || here.dev === parent.dev) return undefined;
    let block: string | undefined;
    try {
      block = readlinkSync(`/sys/dev/block/${devMajor(here.dev)}:${devMinor(here.dev)}`);
    } catch {
      block = undefined;
    }
    const name = block === undefined ? undefined : basename(block);
    return name !== undefined && /^loop\d+$/.test(name) ? `/dev/${name}` : undefined;
  }
}

/** Linux's dev_t encoding (new_decode_dev): 12 bits of major and 20 of minor, split across the 64 bits. */
export function devMajor(dev: bigint): bigint {
  return ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
}

export function devMinor(dev: bigint): bigint {
  return (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
}

/** The file behind a loop device, from sysfs; " (deleted)" marks one whose file was removed since. */
function backingFile(device: string): string | undefined {
  try {
    return readFileSync(`/sys/block/${basename(device)}/loop/backing_file`, 'utf8')
      .trim()
      .replace(/ \(deleted\)$/, '');
  } catch {
    return undefined;
  }
}

function command(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${argv.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}
