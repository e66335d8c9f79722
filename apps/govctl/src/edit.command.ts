import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { dump, load } from 'js-yaml';
import { segment } from './api.client';
import type { Tenant } from './api.types';
import type { Cli } from './cli.context';
import { UsageError } from './cli.errors';
import { examples } from './help.text';
import { mergePatchDiff } from './merge-patch.diff';
import { readableQuota } from './quantity.format';

/** What `edit` puts in the editor: the fields a PATCH takes, the quota in the units a person types. */
export function editableSpec(tenant: Tenant): Record<string, unknown> {
  return { displayName: tenant.displayName, suspended: tenant.suspended, nodes: tenant.nodes, quota: readableQuota(tenant.quota) };
}

export function registerEdit(program: Command, cli: Cli): void {
  examples(
    program
      .command('edit')
      .summary("Edit a tenant's spec in $EDITOR; sent as a merge patch with If-Match")
      .description(
        "Edit a tenant's spec (display name, suspended, nodes, quota) in $VISUAL or $EDITOR. What changed is sent as a JSON merge patch " +
          "with If-Match, so an edit over someone else's change fails (exit 5) instead of undoing it",
      )
      .argument('<tenant>', 'tenant name')
      .option('--force', 'lower memory.max even when usage stays above it (the kernel may OOM-kill)')
      .action(async (name: string, options: { force?: boolean }) => {
        const client = cli.client();
        const path = `/v1/tenants/${segment(name)}`;
        const current = await client.request<Tenant>('GET', path);
        const etag = current.headers.get('etag') ?? `"${current.body.resourceVersion}"`;
        const spec = editableSpec(current.body);
        const dir = mkdtempSync(join(tmpdir(), 'govctl-edit-'));
        const file = join(dir, `${name}.yaml`);
        try {
          const header = [
            `# Tenant ${name} (resource version ${current.body.resourceVersion}). Lines starting with # are ignored.`,
            '# Sizes take Ki/Mi/Gi, rates Kbit/Mbit/Gbit, cores decimals; "max" is unlimited; delete a line to remove it.',
            '# Save and quit to apply; an empty file cancels.',
          ];
          writeFileSync(file, `${header.join('\n')}\n${dump(spec, { lineWidth: -1 })}`, { mode: 0o600 });
          const editor = cli.env.VISUAL || cli.env.EDITOR || 'vi';
          // Through sh, as git does, so that EDITOR may carry arguments ("code --wait").
          const run = spawnSync('/bin/sh', ['-c', `${editor} "$1"`, 'sh', file], { stdio: 'inherit', env: cli.env });
          if (run.status !== 0) throw new UsageError(`the editor (${editor}) exited with ${run.status ?? run.signal}; nothing was changed`);
          let edited: unknown;
          try {
            edited = load(readFileSync(file, 'utf8'));
          } catch (err) {
            throw new UsageError(`the edited spec is not valid YAML: ${(err as Error).message.split('\n')[0]}; nothing was changed`);
          }
          if (edited === undefined || edited === null) {
            cli.warn('Edit cancelled: the file is empty.');
            return;
          }
          const patch = mergePatchDiff(spec, edited) as Record<string, unknown>;
          if (Object.keys(patch).length === 0) {
            cli.warn('Edit cancelled: no changes made.');
            return;
          }
          const updated = await client.request<Tenant>('PATCH', path, {
            body: patch,
            contentType: 'application/merge-patch+json',
            headers: { 'If-Match': etag },
            query: { force: options.force ? 'true' : undefined },
          });
          cli.print(updated.body, () => `tenant/${name} edited (resource version ${updated.body.resourceVersion}, generation ${updated.body.generation})`);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
    ['EDITOR=nano govctl edit acme', 'govctl edit acme --force   # allow lowering memory.max below usage'],
  );
}
