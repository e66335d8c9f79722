import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { CgroupDriver } from '../../../../libs/cgroup/src/driver';
import { KoffiNative } from '../../../../libs/native/src/native';
import { TenantNamespaces } from '../../../../libs/network/src/namespaces';
import { TenantHomes } from '../../../../libs/workloads/src/home';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { HostException, HostExceptionCode } from './host.exception';

/**
 * This host's cgroup subtree, in the roles that touch the host (all, agent). A host that cannot be
 * prepared (no cgroup2, no permission) does not stop the API: host endpoints answer 503 with the reason,
 * and /readyz says not ready.
 */
@Injectable()
export class HostAccess implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('host');
  private driver: CgroupDriver | undefined;
  private tenantNamespaces: TenantNamespaces | undefined;
  private tenantHomes: TenantHomes | undefined;
  private nativeLibrary: KoffiNative | undefined;
  private failure: string | undefined;

  constructor(@Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig) {}

  get touchesHost(): boolean {
    return this.config.role !== 'api';
  }

  async onModuleInit(): Promise<void> {
    if (!this.touchesHost) return;
    try {
      const native = new KoffiNative();
      this.driver = await CgroupDriver.start({ root: this.config.cgroupRoot, native });
      // Not listable by host users: it holds every tenant's name (ns/, homes/) and workload id (workloads/).
      mkdirSync(this.config.runDir, { recursive: true, mode: 0o711 });
      chmodSync(this.config.runDir, 0o711);
      const namespaces = new TenantNamespaces(native, this.config.runDir);
      namespaces.prepare();
      this.tenantNamespaces = namespaces;
      this.tenantHomes = new TenantHomes(this.config.dataDir, this.config.runDir);
      this.nativeLibrary = native;
      const caps = this.driver.capabilities;
      this.logger.log({ root: caps.root, available: caps.available, missing: caps.missing, features: caps.features }, 'cgroup subtree ready');
    } catch (err) {
      this.failure = err instanceof Error ? err.message : String(err);
      this.logger.error({ err }, `cgroup subtree unavailable: ${this.failure}`);
    }
  }

  onApplicationShutdown(): void {
    this.driver?.close();
  }

  /** The driver, or a 501/503 that says why this process cannot act on the host. */
  cgroups(): CgroupDriver {
    if (!this.touchesHost) {
      throw new HostException(
        HostExceptionCode.NOT_IN_ROLE,
        `this governor runs as role api; host endpoints are served by role all (forwarding to agents is not implemented yet)`,
      );
    }
    if (this.driver === undefined)
      throw new HostException(HostExceptionCode.UNAVAILABLE, `the cgroup subtree is unavailable: ${this.failure ?? 'not started'}`);
    return this.driver;
  }

  /** The tenants' namespaces, once the host is prepared. */
  namespaces(): TenantNamespaces {
    this.cgroups();
    if (this.tenantNamespaces === undefined)
      throw new HostException(HostExceptionCode.UNAVAILABLE, `namespaces are unavailable: ${this.failure ?? 'not started'}`);
    return this.tenantNamespaces;
  }

  /** The tenants' homes (image files and their mounts), once the host is prepared. */
  homes(): TenantHomes {
    this.cgroups();
    if (this.tenantHomes === undefined) throw new HostException(HostExceptionCode.UNAVAILABLE, `homes are unavailable: ${this.failure ?? 'not started'}`);
    return this.tenantHomes;
  }

  /** The native library, for the paths of its programs (the monitor, the tenant init). */
  native(): KoffiNative {
    this.cgroups();
    if (this.nativeLibrary === undefined)
      throw new HostException(HostExceptionCode.UNAVAILABLE, `the native library is unavailable: ${this.failure ?? 'not started'}`);
    return this.nativeLibrary;
  }

  /** Whether `path` is a directory on this host (a tenant's rootfs is checked at create). */
  isDirectory(path: string): boolean {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
  }

  /** The driver when there is one; for the reconciler, which idles without it. */
  maybeCgroups(): CgroupDriver | undefined {
    return this.driver;
  }

  get unavailableReason(): string | undefined {
    return this.touchesHost && this.driver === undefined ? (this.failure ?? 'not started') : undefined;
  }
}
