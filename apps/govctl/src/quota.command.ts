import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { segment } from './api.client';
import type { Tenant, TenantPlan } from './api.types';
import type { Cli } from './cli.context';
import { UsageError } from './cli.errors';
import { examples } from './help.text';
import { renderPlan } from './plan.format';
import { quotaSummary } from './quantity.format';
import { addQuotaOptions, QUOTA_FLAGS_HELP, quotaPatchFrom } from './quota.flags';

/** Asks on the terminal; without one, the caller must have said --yes. */
export async function confirm(cli: Cli, question: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new UsageError('not a terminal to ask on: pass --yes to apply, or --dry-run to only see the plan');
  const rl = createInterface({ input: process.stdin, output: cli.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

export function registerQuota(program: Command, cli: Cli): void {
  const quota = program.command('quota').description("Change a tenant's quota, showing the plan first");
  examples(
    addQuotaOptions(
      quota
        .command('set')
        .description(
          `Show what the change would write on each node (files, old and new values, warnings such as memory.max below usage), ask, then apply it. ${QUOTA_FLAGS_HELP}`,
        )
        .argument('<tenant>', 'tenant name')
        .option('-y, --yes', 'apply without asking')
        .option('--dry-run', 'only show the plan')
        .option('--force', 'lower memory.max even when usage stays above it (the kernel may OOM-kill)'),
    ).action(async (name: string, options: Record<string, unknown>) => {
      const patch = { quota: quotaPatchFrom(options) };
      if (Object.keys(patch.quota).length === 0) throw new UsageError('give at least one quota flag, e.g. --memory 512Mi (see govctl quota set --help)');
      const client = cli.client();
      const path = `/v1/tenants/${segment(name)}`;
      // The plan is of the tenant as it is now; If-Match makes sure that is what the change applies to.
      const current = await client.request<Tenant>('GET', path);
      const plan = await client.post<TenantPlan>(`${path}/plan`, patch);
      const structured = cli.format === 'json' || cli.format === 'yaml';
      if (options.dryRun) {
        cli.print(plan, () => renderPlan(name, plan, cli.width));
        return;
      }
      if (!structured) cli.out(renderPlan(name, plan, cli.width));
      if (!options.yes && !(await confirm(cli, `Apply this change to tenant ${name}?`))) {
        cli.warn('Not applied.');
        return;
      }
      const updated = await client.request<Tenant>('PATCH', path, {
        body: patch,
        contentType: 'application/merge-patch+json',
        headers: { 'If-Match': current.headers.get('etag') ?? `"${current.body.resourceVersion}"` },
        query: { force: options.force ? 'true' : undefined },
      });
      cli.print({ plan, tenant: updated.body }, () => `tenant/${name} quota set: ${quotaSummary(updated.body.quota)} (generation ${updated.body.generation})`);
    }),
    [
      'govctl quota set acme --cpu 1.5 --memory 512Mi --pids 256',
      'govctl quota set acme --memory 1Gi --memory-high none --yes',
      'govctl quota set acme --ingress 100Mbit --egress 50Mbit --dry-run',
    ],
  );
}
