import type { TenantPlan } from './api.types';
import { quotaSummary } from './quantity.format';
import { renderTable } from './table.format';

type Write = TenantPlan['nodes'][number]['writes'][number];

/** A plan as people read it: per node, each file with its old and new value, then the warnings. */
export function renderPlan(tenant: string, plan: TenantPlan, width?: number): string {
  const lines = [`Plan for tenant ${tenant}: quota after the change: ${quotaSummary(plan.quota)}`];
  for (const refusal of plan.admission?.resources.filter((resource) => !resource.admitted) ?? []) {
    lines.push(
      `refused: node ${refusal.node}: ${refusal.resource} requested ${refusal.requested}, already placed ${refusal.placed}, capacity ${refusal.capacity}, allowed ${refusal.allowed}`,
    );
  }
  if (plan.nodes.length === 0) lines.push('  no node hosts this tenant yet: nothing would be written now');
  for (const node of plan.nodes) {
    lines.push(`node ${node.node}:`);
    if (node.writes.length === 0) lines.push('  no file changes');
    else {
      const table = renderTable<Write>(
        [
          { header: 'FILE', value: (w) => w.file },
          { header: 'FROM', value: (w) => w.from ?? '(unset)' },
          { header: 'TO', value: (w) => w.to, flex: true },
        ],
        node.writes,
        { width: width === undefined ? undefined : width - 2 },
      );
      lines.push(...table.split('\n').map((line) => `  ${line}`));
    }
    for (const warning of node.warnings) lines.push(`  warning: ${warning}`);
  }
  return lines.join('\n');
}
