import type { Command } from 'commander';
import { segment } from './api.client';
import type { LedgerEntry, Tenant } from './api.types';
import type { Cli } from './cli.context';
import { examples } from './help.text';
import { flatten, formatAge, quotaChanges, quotaSummary, readableQuota } from './quantity.format';
import { addQuotaOptions, QUOTA_FLAGS_HELP, quotaPatchFrom } from './quota.flags';
import { type Column, renderFields, renderTable } from './table.format';

export const TENANT_COLUMNS: Array<Column<Tenant>> = [
  { header: 'NAME', value: (t) => t.name },
  { header: 'PHASE', value: (t) => t.status.phase },
  { header: 'QUOTA', value: (t) => quotaSummary(t.quota), flex: true },
  { header: 'AGE', value: (t) => formatAge(t.createdAt) },
  { header: 'DISPLAY NAME', value: (t) => t.displayName ?? '-', wide: true },
  { header: 'GENERATION', value: (t) => `${t.status.observedGeneration}/${t.generation}`, wide: true },
  { header: 'ADDRESS', value: (t) => t.status.network?.address ?? '-', wide: true },
  { header: 'UIDS', value: (t) => (t.status.uidRange ? `${t.status.uidRange.start}+${t.status.uidRange.size}` : '-'), wide: true },
  {
    header: 'CONDITIONS',
    value: (t) => [...new Set(t.status.conditions.map((c) => `${c.type}=${c.status}:${c.reason}`))].join(',') || '-',
    wide: true,
    flex: true,
  },
];

/** The detail view of one tenant: its fields, quota in API units, and every condition. */
export function describeTenant(t: Tenant): string {
  const quota = flatten(readableQuota(t.quota)).filter(([path]) => path !== '');
  const fields: Array<[string, string]> = [
    ['Name', t.name],
    ['Display name', t.displayName ?? '-'],
    ['Phase', t.status.phase],
    ['Suspended', String(t.suspended)],
    ['Generation', `${t.generation} (observed ${t.status.observedGeneration})`],
    ['Resource version', String(t.resourceVersion)],
    ['Nodes', t.nodes.length > 0 ? t.nodes.join(', ') : 'all'],
    ['Created', t.createdAt],
    ['Cgroup', t.status.cgroupPath ?? '-'],
    ['UID range', t.status.uidRange ? `${t.status.uidRange.start}-${t.status.uidRange.start + t.status.uidRange.size - 1}` : '-'],
    ['Address', t.status.network ? `${t.status.network.address} via ${t.status.network.gateway} (${t.status.network.hostInterface})` : '-'],
  ];
  const lines = [renderFields(fields), 'Quota:'];
  lines.push(
    ...(quota.length > 0 ? quota.map(([path, value]) => `  ${path}: ${typeof value === 'string' ? value : JSON.stringify(value)}`) : ['  (none: unlimited)']),
  );
  lines.push('Conditions:');
  lines.push(...(t.status.conditions.length > 0 ? t.status.conditions.map((c) => `  ${c.type}=${c.status} ${c.reason}: ${c.message}`) : ['  (none)']));
  return lines.join('\n');
}

const HISTORY_COLUMNS: Array<Column<LedgerEntry>> = [
  { header: 'AT', value: (e) => e.at },
  { header: 'ACTOR', value: (e) => e.actor },
  { header: 'GENERATION', value: (e) => String(e.generation) },
  { header: 'CHANGE', value: (e) => quotaChanges(e.before, e.after).join(', ') || '(no quota change)', flex: true },
  { header: 'REQUEST ID', value: (e) => e.requestId ?? '-', wide: true },
];

export function registerTenants(program: Command, cli: Cli): void {
  const tenants = program.command('tenants').alias('tenant').description('List, show, create, delete, suspend and resume tenants');
  examples(tenants, ['govctl tenants list', 'govctl tenants get acme -o yaml', 'govctl tenants create acme --cpu 1.5 --memory 512Mi --pids 256']);

  examples(
    tenants
      .command('list')
      .alias('ls')
      .description('List every tenant, sorted by name')
      .action(async () => {
        const items = await cli.client().all<Tenant>('/v1/tenants');
        cli.print(items, (wide) => (items.length === 0 ? 'No tenants.' : renderTable(TENANT_COLUMNS, items, { wide, width: cli.width })));
      }),
    ['govctl tenants list', 'govctl tenants list -o wide', "govctl tenants list -o json | jq -r '.[].name'"],
  );

  examples(
    tenants
      .command('get')
      .description('Show one tenant: status, quota in API units, conditions')
      .argument('<tenant>', 'tenant name')
      .action(async (name: string) => {
        const tenant = await cli.client().get<Tenant>(`/v1/tenants/${segment(name)}`);
        cli.print(tenant, (wide) => (wide ? renderTable(TENANT_COLUMNS, [tenant], { wide, width: cli.width }) : describeTenant(tenant)));
      }),
    ['govctl tenants get acme', 'govctl tenants get acme -o json'],
  );

  examples(
    addQuotaOptions(
      tenants
        .command('create')
        .description(`Create a tenant, with a quota from the flags. ${QUOTA_FLAGS_HELP}`)
        .argument('<tenant>', 'name: 2 to 32 of a-z, 0-9 and -, starting with a letter')
        .option('--display-name <text>', 'a name for people')
        .option('--node <name...>', 'nodes the tenant lives on (default: every node)'),
    ).action(async (name: string, options: Record<string, unknown>) => {
      const quota = quotaPatchFrom(options, false);
      const body = {
        name,
        ...(options.displayName !== undefined && { displayName: options.displayName }),
        ...(Object.keys(quota).length > 0 && { quota }),
        ...(options.node !== undefined && { nodes: options.node }),
      };
      const tenant = await cli.client().post<Tenant>('/v1/tenants', body);
      cli.print(tenant, () => `tenant/${tenant.name} created (${quotaSummary(tenant.quota)})`);
    }),
    ['govctl tenants create acme', 'govctl tenants create acme --display-name "Acme Corp" --cpu 1.5 --memory 512Mi --pids 256 --ingress 100Mbit'],
  );

  examples(
    tenants
      .command('delete')
      .alias('rm')
      .description('Delete a tenant: its processes are killed, its cgroups, namespaces and link removed; it is Terminating until they are gone')
      .argument('<tenant>', 'tenant name')
      .action(async (name: string) => {
        const tenant = await cli.client().delete<Tenant>(`/v1/tenants/${segment(name)}`);
        cli.print(tenant, () => `tenant/${tenant.name} deleting (phase ${tenant.status.phase})`);
      }),
    ['govctl tenants delete acme'],
  );

  for (const [verb, what] of [
    ['suspend', 'Freeze every process of a tenant (cgroup.freeze); phase Suspended once frozen'],
    ['resume', 'Thaw a suspended tenant'],
  ] as const) {
    examples(
      tenants
        .command(verb)
        .description(what)
        .argument('<tenant>', 'tenant name')
        .action(async (name: string) => {
          const tenant = await cli.client().post<Tenant>(`/v1/tenants/${segment(name)}/${verb}`);
          cli.print(tenant, () => `tenant/${tenant.name} ${verb === 'suspend' ? 'suspending' : 'resuming'} (suspended=${tenant.suspended})`);
        }),
      [`govctl tenants ${verb} acme`],
    );
  }

  examples(
    tenants
      .command('history')
      .description('The quota ledger of a tenant, newest first: who changed what, when')
      .argument('<tenant>', 'tenant name')
      .action(async (name: string) => {
        const items = await cli.client().all<LedgerEntry>(`/v1/tenants/${segment(name)}/history`);
        cli.print(items, (wide) => (items.length === 0 ? 'No quota changes.' : renderTable(HISTORY_COLUMNS, items, { wide, width: cli.width })));
      }),
    ['govctl tenants history acme', 'govctl tenants history acme -o json'],
  );
}
