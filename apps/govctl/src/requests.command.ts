import type { Command } from 'commander';
import { segment } from './api.client';
import type { Items, Quota, QuotaRequest } from './api.types';
import type { Cli } from './cli.context';
import { examples } from './help.text';
import { renderPlan } from './plan.format';
import { flatten, formatAge, readableQuota } from './quantity.format';
import { type Column, renderTable } from './table.format';

/** A request's merge patch in one line: memory.max=1Gi pids.max=512. */
export function patchSummary(patch: Record<string, unknown>): string {
  return (
    flatten(readableQuota(patch as Quota))
      .filter(([path]) => path !== '')
      .map(([path, value]) => `${path}=${value === null ? 'none' : typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ') || '-'
  );
}

export const REQUEST_COLUMNS: Array<Column<QuotaRequest>> = [
  { header: 'ID', value: (r) => r.id },
  { header: 'TENANT', value: (r) => r.tenant },
  { header: 'STATE', value: (r) => r.state },
  { header: 'CHANGE', value: (r) => patchSummary(r.quota) },
  { header: 'AGE', value: (r) => formatAge(r.createdAt) },
  { header: 'REASON', value: (r) => r.reason, flex: true },
  { header: 'DECIDED BY', value: (r) => r.decidedBy ?? '-', wide: true },
  { header: 'DECISION', value: (r) => r.decisionReason ?? '-', wide: true, flex: true },
  { header: 'WARNINGS', value: (r) => r.plan?.nodes.flatMap((n) => n.warnings).join('; ') || r.planError || '-', wide: true, flex: true },
];

export function registerRequests(program: Command, cli: Cli): void {
  const requests = program.command('requests').alias('request').description("Review tenants' quota requests");
  examples(requests, ['govctl requests list', 'govctl requests approve 5d1c…', 'govctl requests reject 5d1c… --reason "use a smaller build"']);

  examples(
    requests
      .command('list')
      .alias('ls')
      .description('Quota requests; pending ones oldest first, each with the plan of approving it now')
      .option('--state <state>', 'pending, approved, rejected or withdrawn (default: every state)')
      .action(async (options: { state?: string }) => {
        const { items } = await cli.client().get<Items<QuotaRequest>>('/v1/quota-requests', { state: options.state });
        cli.print(items, (wide) => (items.length === 0 ? 'No quota requests.' : renderTable(REQUEST_COLUMNS, items, { wide, width: cli.width })));
      }),
    ['govctl requests list --state pending', 'govctl requests list -o wide'],
  );

  examples(
    requests
      .command('approve')
      .description("Approve a request: the patch goes to the tenant's quota through the normal path (ledger, generation, reconcile)")
      .argument('<id>', 'request id (govctl requests list)')
      .option('--reason <text>', 'a note for the tenant')
      .action((id: string, options: { reason?: string }) => decide(cli, id, 'approve', options.reason)),
    ['govctl requests approve 5d1c…'],
  );
  examples(
    requests
      .command('reject')
      .description('Reject a request with a reason the tenant sees')
      .argument('<id>', 'request id (govctl requests list)')
      .requiredOption('--reason <text>', 'why, for the tenant')
      .action((id: string, options: { reason: string }) => decide(cli, id, 'reject', options.reason)),
    ['govctl requests reject 5d1c… --reason "the host is full this month"'],
  );

  examples(
    requests
      .command('get')
      .description('One request with the plan of approving it now')
      .argument('<id>', 'request id')
      .action(async (id: string) => {
        const request = await cli.client().get<QuotaRequest>(`/v1/quota-requests/${segment(id)}`);
        cli.print(request, () =>
          [
            renderTable(REQUEST_COLUMNS, [request], { width: cli.width }),
            request.plan ? renderPlan(request.tenant, request.plan, cli.width) : (request.planError ?? ''),
          ].join('\n'),
        );
      }),
    ['govctl requests get 5d1c…'],
  );
}

async function decide(cli: Cli, id: string, verb: 'approve' | 'reject', reason: string | undefined): Promise<void> {
  const request = await cli.client().post<QuotaRequest>(`/v1/quota-requests/${segment(id)}/${verb}`, reason ? { reason } : {});
  cli.print(request, () => `request/${request.id} ${request.state} (tenant ${request.tenant}: ${patchSummary(request.quota)})`);
}
