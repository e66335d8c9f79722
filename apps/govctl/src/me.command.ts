import type { Command } from 'commander';
import type { Items, MyUsage, QuotaRequest, Tenant } from './api.types';
import type { Cli } from './cli.context';
import { UsageError } from './cli.errors';
import { examples } from './help.text';
import { renderPlan } from './plan.format';
import { formatBitRate, formatBytes, formatPercent, formatSize } from './quantity.format';
import { addQuotaOptions, QUOTA_FLAGS_HELP, quotaPatchFrom } from './quota.flags';
import { patchSummary, REQUEST_COLUMNS } from './requests.command';
import { renderFields, renderTable } from './table.format';
import { describeTenant } from './tenants.command';

/** `me usage` as people read it: each resource now, against its limit. */
export function describeUsage(mine: MyUsage, quota: Tenant['quota']): string {
  const u = mine.usage;
  const last = mine.history.points.at(-1);
  const against = (used: string, limit: string | undefined) => (limit === undefined ? used : `${used} of ${limit}`);
  const throttled = u.cpu.periods ? formatPercent((u.cpu.throttledPeriods ?? 0) / u.cpu.periods) : '-';
  return renderFields([
    ['Node', mine.node],
    ['CPU', against(last?.cpuCores == null ? '-' : `${last.cpuCores.toFixed(2)} cores`, quota.cpu?.max)],
    ['CPU time', u.cpu.usageSeconds === undefined ? '-' : `${u.cpu.usageSeconds.toFixed(1)}s (throttled in ${throttled} of periods)`],
    ['Memory', against(formatBytes(u.memory.currentBytes), quota.memory?.max === undefined ? undefined : formatSize(quota.memory.max))],
    ['Memory peak', formatBytes(u.memory.peakBytes)],
    ['OOM kills', String(u.memory.events?.oomKill ?? 0)],
    ['Tasks', against(u.pids.current === undefined ? '-' : String(u.pids.current), quota.pids?.max === undefined ? undefined : String(quota.pids.max))],
    ['Network in', last?.receiveBitsPerSecond == null ? '-' : `${formatBitRate(last.receiveBitsPerSecond)}/s`],
    ['Network out', last?.transmitBitsPerSecond == null ? '-' : `${formatBitRate(last.transmitBitsPerSecond)}/s`],
    ['PSI (some avg10)', `cpu ${u.pressure.cpu?.some.avg10 ?? '-'}  memory ${u.pressure.memory?.some.avg10 ?? '-'}  io ${u.pressure.io?.some.avg10 ?? '-'}`],
    ['Frozen', String(u.frozen)],
  ]);
}

export function registerMe(program: Command, cli: Cli): void {
  const me = program
    .command('me')
    .description('With a tenant key: your tenant (quota, status, uid range, address)')
    .action(async () => {
      const tenant = await cli.client().get<Tenant>('/v1/me');
      cli.print(tenant, () => describeTenant(tenant));
    });
  examples(me, ['govctl me', 'govctl me usage', 'govctl me request --memory 1Gi --reason "the nightly build needs more"']);

  examples(
    me
      .command('usage')
      .description('Your live usage against your quota')
      .action(async () => {
        const client = cli.client();
        const [tenant, usage] = await Promise.all([client.get<Tenant>('/v1/me'), client.get<MyUsage>('/v1/me/usage')]);
        cli.print(usage, () => describeUsage(usage, tenant.quota));
      }),
    ['govctl me usage', 'govctl me usage -o json'],
  );

  examples(
    addQuotaOptions(
      me
        .command('request')
        .description(`Ask an admin for a different quota, with a reason; shows the plan of approving it. ${QUOTA_FLAGS_HELP}`)
        .requiredOption('--reason <text>', 'why, for the admin (at most 1000 characters)'),
    ).action(async (options: Record<string, unknown>) => {
      const quota = quotaPatchFrom(options);
      if (Object.keys(quota).length === 0) throw new UsageError('give at least one quota flag, e.g. --memory 1Gi (see govctl me request --help)');
      const request = await cli.client().post<QuotaRequest>('/v1/me/quota-requests', { quota, reason: options.reason });
      cli.print(request, () =>
        [
          `request/${request.id} ${request.state}: ${patchSummary(request.quota)}`,
          ...(request.plan ? [renderPlan(request.tenant, request.plan, cli.width)] : []),
        ].join('\n'),
      );
    }),
    ['govctl me request --memory 1Gi --reason "the nightly build needs 1 GiB"', 'govctl me request --cpu 2 --pids 512 --reason "more parallel jobs"'],
  );

  examples(
    me
      .command('requests')
      .description('Your quota requests and their decisions')
      .action(async () => {
        const { items } = await cli.client().get<Items<QuotaRequest>>('/v1/me/quota-requests');
        cli.print(items, (wide) => (items.length === 0 ? 'No quota requests.' : renderTable(REQUEST_COLUMNS, items, { wide, width: cli.width })));
      }),
    ['govctl me requests'],
  );
}
