import type { Command } from 'commander';
import { segment } from './api.client';
import type { AdminToken, Items, TenantKey } from './api.types';
import type { Cli } from './cli.context';
import { UsageError } from './cli.errors';
import { examples } from './help.text';
import { formatAge } from './quantity.format';
import { type Column, renderTable } from './table.format';

const KEY_COLUMNS: Array<Column<TenantKey>> = [
  { header: 'ID', value: (k) => k.id },
  { header: 'NAME', value: (k) => k.name },
  { header: 'PREFIX', value: (k) => k.prefix },
  { header: 'STATE', value: (k) => (k.revokedAt ? 'revoked' : k.expiresAt && Date.parse(k.expiresAt) < Date.now() ? 'expired' : 'active') },
  { header: 'EXPIRES', value: (k) => k.expiresAt ?? 'never' },
  { header: 'LAST USED', value: (k) => (k.lastUsedAt ? `${formatAge(k.lastUsedAt)} ago` : 'never') },
  { header: 'CREATED BY', value: (k) => k.createdBy, wide: true },
  { header: 'AGE', value: (k) => formatAge(k.createdAt), wide: true },
];

const TOKEN_COLUMNS: Array<Column<AdminToken>> = [
  { header: 'ID', value: (t) => t.id },
  { header: 'NAME', value: (t) => t.name },
  { header: 'EXPIRES', value: (t) => t.expiresAt ?? 'never' },
  { header: 'AGE', value: (t) => formatAge(t.createdAt) },
  { header: 'CREATED BY', value: (t) => t.createdBy ?? '-', wide: true },
];

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `--expires-in 90d` as the RFC 3339 time the admin-token API takes. */
export function expiryFrom(duration: string, now = Date.now()): string {
  const match = /^([0-9]{1,6})([smhd])$/.exec(duration);
  if (!match) throw new UsageError(`--expires-in takes a number and a unit s, m, h or d, e.g. 90d; got "${duration}"`);
  return new Date(now + Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]).toISOString();
}

const SHOWN_ONCE = 'Save it now: it is shown only once.';

export function registerKeys(program: Command, cli: Cli): void {
  const keys = program
    .command('keys')
    .summary('Tenant keys (gvt_…): create, list, revoke')
    .description('Tenant keys (gvt_…): what a tenant signs in with to /v1/me and the portal');
  examples(keys, ['govctl keys create acme portal --expires-in 30d', 'govctl keys list acme', 'govctl keys revoke acme 7b0e…']);
  examples(
    keys
      .command('create')
      .description(`Issue a key for a tenant. ${SHOWN_ONCE}`)
      .argument('<tenant>', 'tenant name')
      .argument('<name>', 'what the key is for, e.g. portal or ci')
      .option('--expires-in <duration>', 'e.g. 30d, 12h (1m to 366d; default: until revoked)')
      .action(async (tenant: string, name: string, options: { expiresIn?: string }) => {
        const key = await cli
          .client()
          .post<TenantKey & { key: string }>(`/v1/tenants/${segment(tenant)}/keys`, { name, ...(options.expiresIn && { expiresIn: options.expiresIn }) });
        cli.print(key, () => `${key.key}\n`);
        if (cli.format === 'table' || cli.format === 'wide') cli.warn(`key/${key.id} for tenant ${tenant} created. ${SHOWN_ONCE}`);
      }),
    ['govctl keys create acme portal', 'KEY=$(govctl keys create acme ci --expires-in 7d)'],
  );
  examples(
    keys
      .command('list')
      .alias('ls')
      .description("A tenant's keys: prefix, expiry, last use, revoked (never the secret)")
      .argument('<tenant>', 'tenant name')
      .action(async (tenant: string) => {
        const { items } = await cli.client().get<Items<TenantKey>>(`/v1/tenants/${segment(tenant)}/keys`);
        cli.print(items, (wide) => (items.length === 0 ? 'No keys.' : renderTable(KEY_COLUMNS, items, { wide, width: cli.width })));
      }),
    ['govctl keys list acme'],
  );
  examples(
    keys
      .command('revoke')
      .description('Revoke a key; it stops working at once')
      .argument('<tenant>', 'tenant name')
      .argument('<id>', 'key id (govctl keys list)')
      .action(async (tenant: string, id: string) => {
        await cli.client().delete(`/v1/tenants/${segment(tenant)}/keys/${segment(id)}`);
        cli.print({ id, revoked: true }, () => `key/${id} revoked`);
      }),
    ['govctl keys revoke acme 7b0e…'],
  );
}

export function registerTokens(program: Command, cli: Cli): void {
  const tokens = program
    .command('tokens')
    .summary('Admin tokens (gva_…): create, list, revoke')
    .description('Named admin tokens (gva_…), so that the ledger and the audit say who acted');
  examples(tokens, ['govctl tokens create ci', 'govctl tokens list', 'govctl tokens revoke 1c9a…']);
  examples(
    tokens
      .command('create')
      .description(`Create an admin token. ${SHOWN_ONCE}`)
      .argument('<name>', 'who or what uses it')
      .option('--expires-in <duration>', 'e.g. 90d (default: until revoked)')
      .action(async (name: string, options: { expiresIn?: string }) => {
        const expiresAt = options.expiresIn === undefined ? undefined : expiryFrom(options.expiresIn);
        const token = await cli.client().post<AdminToken & { token: string }>('/v1/admin-tokens', { name, ...(expiresAt && { expiresAt }) });
        cli.print(token, () => `${token.token}\n`);
        if (cli.format === 'table' || cli.format === 'wide') cli.warn(`token/${token.id} "${name}" created. ${SHOWN_ONCE}`);
      }),
    ['govctl tokens create ci', 'govctl tokens create alice --expires-in 90d'],
  );
  examples(
    tokens
      .command('list')
      .alias('ls')
      .description('Admin tokens (never the secret)')
      .action(async () => {
        const { items } = await cli.client().get<Items<AdminToken>>('/v1/admin-tokens');
        cli.print(items, (wide) => (items.length === 0 ? 'No tokens.' : renderTable(TOKEN_COLUMNS, items, { wide, width: cli.width })));
      }),
    ['govctl tokens list -o wide'],
  );
  examples(
    tokens
      .command('revoke')
      .description('Revoke an admin token; it stops working at once')
      .argument('<id>', 'token id (govctl tokens list)')
      .action(async (id: string) => {
        await cli.client().delete(`/v1/admin-tokens/${segment(id)}`);
        cli.print({ id, revoked: true }, () => `token/${id} revoked`);
      }),
    ['govctl tokens revoke 1c9a…'],
  );
}
