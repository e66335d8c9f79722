import { parseIoStat } from '../../../../../libs/cgroup/src/stats/io-stat';
import type { Collector, CollectorPlan, CollectorRun, FamilyFactory, HostView } from '../collector';
import type { MetricFamily } from '../metric-family';

const FILES = ['io.stat'];

/**
 * Block I/O of each tenant by device ("MAJ:MIN") from io.stat. A device the tenant never touched has no
 * line and so no series. Needs the io controller.
 */
export class IoCollector implements Collector {
  readonly name = 'io';
  readonly families: readonly MetricFamily[];
  private readonly readBytes: MetricFamily;
  private readonly writeBytes: MetricFamily;
  private readonly reads: MetricFamily;
  private readonly writes: MetricFamily;

  constructor(family: FamilyFactory) {
    this.readBytes = family('governor_tenant_io_read_bytes_total', 'Bytes read by the tenant from a block device; io.stat rbytes', 'counter');
    this.writeBytes = family('governor_tenant_io_write_bytes_total', 'Bytes written by the tenant to a block device; io.stat wbytes', 'counter');
    this.reads = family('governor_tenant_io_reads_total', 'Read I/Os of the tenant on a block device; io.stat rios', 'counter');
    this.writes = family('governor_tenant_io_writes_total', 'Write I/Os of the tenant on a block device; io.stat wios', 'counter');
    this.families = [this.readBytes, this.writeBytes, this.reads, this.writes];
  }

  enabled(host: HostView | undefined): boolean {
    return host?.capabilities.available.includes('io') ?? false;
  }

  plan(plan: CollectorPlan): void {
    for (const tenant of plan.tenants) plan.want(tenant.dir, FILES);
  }

  collect(run: CollectorRun): void {
    const readBytes = run.series(this.readBytes);
    const writeBytes = run.series(this.writeBytes);
    const reads = run.series(this.reads);
    const writes = run.series(this.writes);
    for (const tenant of run.tenants) {
      const text = run.read(tenant.dir, 'io.stat');
      if (text === undefined) continue;
      for (const entry of parseIoStat(text)) {
        const labels = tenant.device(entry.device);
        readBytes.push({ value: entry.rbytes, sharedLabels: labels });
        writeBytes.push({ value: entry.wbytes, sharedLabels: labels });
        reads.push({ value: entry.rios, sharedLabels: labels });
        writes.push({ value: entry.wios, sharedLabels: labels });
      }
    }
  }
}
