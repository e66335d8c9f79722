import { readFile } from 'node:fs/promises';
import { Injectable } from '@nestjs/common';
import type { FieldError } from '../../../../libs/domain/src/errors';
import { parseCpuList } from '../../../../libs/domain/src/cpu-list';

/** Where the kernel lists the CPUs online ("0-3" or "0,2-3"); a cpuset may name only these. */
const ONLINE = '/sys/devices/system/cpu/online';

/** The host's CPUs as a node reports them: the online list a tenant's cpuset is checked against at admission. */
@Injectable()
export class HostCpus {
  constructor(private readonly path: string = ONLINE) {}

  /** The canonical list of online CPUs, or null when the file cannot be read or parsed (then no list is checked). */
  async onlineList(): Promise<string | null> {
    try {
      const errors: FieldError[] = [];
      return parseCpuList((await readFile(this.path, 'utf8')).trim(), 'online', errors) ?? null;
    } catch {
      return null;
    }
  }
}
