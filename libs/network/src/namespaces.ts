import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TENANT_NAME_PATTERN } from '../../domain/src/tenant-name';

/** What this class needs of the native library (libs/native implements it). */
export interface NamespaceKernel {
  /** runs off the event loop: 100 tenants made at once would otherwise queue there */
  nsCreateAsync(dir: string, uidBase: number, uidCount: number, gidBase: number, gidCount: number): Promise<void>;
  nsDestroyAsync(dir: string): Promise<void>;
  /** true when both bind mounts are live namespaces */
  nsCheck(dir: string): boolean;
  makeSharedMount(dir: string): void;
  /** unmounts the tenant init's namespace files (pid, mnt, uts, ipc, cgroup) and init.pid; user and net stay */
  nsReleaseInit(dir: string): void;
}

/** The files of a tenant's namespace directory: user and net from nsCreate, the rest from its tenant init. */
export interface TenantNamespacePaths {
  user: string;
  net: string;
  pid: string;
  mnt: string;
  uts: string;
  ipc: string;
  cgroup: string;
  /** the init's host pid, written by governor-tenant-init once the files above are mounted */
  initPid: string;
}

export const ID_RANGE_SIZE = 65536;

/** Whose namespaces a directory holds: written beside them when they are made, checked before they are reused. */
export interface NamespaceOwner {
  tenantId: string;
  uidBase: number;
}

/** What ensure did: nothing, made them, or made them after tearing down another tenant's of the same name. */
export type NamespaceOutcome = 'kept' | 'created' | 'replaced';

const OWNER_FILE = 'owner';

/**
 * Each tenant's user and network namespaces, kept as bind mounts under <run dir>/ns/<tenant>/{user,net}
 * on a shared-propagation mount. Created by the native library in a cloned child (never in Node's own
 * threads), the network namespace owned by the host's initial user namespace.
 */
export class TenantNamespaces {
  readonly root: string;

  constructor(
    private readonly kernel: NamespaceKernel,
    runDir: string,
  ) {
    this.root = join(runDir, 'ns');
  }

  /** Creates <run dir>/ns (0711: host users cannot list tenant names) as a shared mount. */
  prepare(): void {
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    this.kernel.makeSharedMount(this.root);
  }

  dir(tenant: string): string {
    if (!TENANT_NAME_PATTERN.test(tenant)) throw new Error(`refusing a namespace path for ${JSON.stringify(tenant)}`);
    return join(this.root, tenant);
  }

  paths(tenant: string): TenantNamespacePaths {
    const dir = this.dir(tenant);
    const at = (name: string) => join(dir, name);
    return {
      user: at('user'),
      net: at('net'),
      pid: at('pid'),
      mnt: at('mnt'),
      uts: at('uts'),
      ipc: at('ipc'),
      cgroup: at('cgroup'),
      initPid: at('init.pid'),
    };
  }

  /** Drops the namespace files of the tenant's init (dead, or about to be replaced). */
  releaseInit(tenant: string): void {
    this.kernel.nsReleaseInit(this.dir(tenant));
  }

  /**
   * Makes sure both namespaces exist, mapping 0..65535 inside to [uidBase, uidBase + 65536) outside (gids
   * alike), and that they are this tenant's: the directory is keyed by name, so namespaces left by a deleted
   * tenant of the same name (deleted while this node was away) carry another owner, and are torn down and
   * made again rather than handed over with their uid map. A lost bind mount (after a reboot /run is empty)
   * is rebuilt. Namespaces without an owner file (made before there was one) are adopted.
   */
  async ensure(tenant: string, owner: NamespaceOwner): Promise<NamespaceOutcome> {
    const dir = this.dir(tenant);
    const file = join(dir, OWNER_FILE);
    let outcome: NamespaceOutcome = 'created';
    if (this.kernel.nsCheck(dir)) {
      const recorded = readOwner(file);
      if (recorded === undefined) writeOwner(file, owner);
      if (recorded === undefined || (recorded.tenantId === owner.tenantId && recorded.uidBase === owner.uidBase)) return 'kept';
      outcome = 'replaced';
    }
    await this.remove(tenant); // whatever half is left, or another tenant's
    mkdirSync(dir, { recursive: true, mode: 0o711 });
    await this.kernel.nsCreateAsync(dir, owner.uidBase, ID_RANGE_SIZE, owner.uidBase, ID_RANGE_SIZE);
    writeOwner(file, owner);
    return outcome;
  }

  async remove(tenant: string): Promise<void> {
    const dir = this.dir(tenant);
    rmSync(join(dir, OWNER_FILE), { force: true });
    await this.kernel.nsDestroyAsync(dir);
  }

  /** Tenants with a namespace directory on this host. */
  onHost(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name);
    } catch {
      return [];
    }
  }
}

function readOwner(file: string): NamespaceOwner | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const [tenantId, uidBase] = text.trim().split(' ');
  return { tenantId: tenantId ?? '', uidBase: Number(uidBase) };
}

function writeOwner(file: string, owner: NamespaceOwner): void {
  writeFileSync(`${file}.tmp`, `${owner.tenantId} ${owner.uidBase}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}
