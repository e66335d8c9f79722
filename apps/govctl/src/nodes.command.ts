import type { Command } from 'commander';
import { segment } from './api.client';
import type { Items, NodeView } from './api.types';
import type { Cli } from './cli.context';
import { examples } from './help.text';
import { formatAge } from './quantity.format';
import { type Column, renderTable } from './table.format';

const NODE_COLUMNS: Array<Column<NodeView>> = [
  { header: 'NAME', value: (n) => n.name },
  { header: 'STATUS', value: (n) => (n.alive ? 'Alive' : 'Stale') },
  { header: 'ROLE', value: (n) => n.role },
  { header: 'KERNEL', value: (n) => n.kernel },
  { header: 'CGROUP', value: (n) => n.cgroup.mode },
  { header: 'MISSING', value: (n) => n.controllers.missing.join(',') || '-', flex: true },
  { header: 'HEARTBEAT', value: (n) => formatAge(n.heartbeatAt) },
  { header: 'AVAILABLE', value: (n) => n.controllers.available.join(',') || '-', wide: true, flex: true },
  { header: 'ROOT', value: (n) => n.cgroup.root, wide: true },
  {
    header: 'FEATURES',
    value: (n) =>
      Object.entries(n.features)
        .filter(([, on]) => on)
        .map(([name]) => name)
        .join(',') || '-',
    wide: true,
    flex: true,
  },
];

export function registerNodes(program: Command, cli: Cli): void {
  examples(
    program
      .command('nodes')
      .summary('Hosts: kernel, cgroup mode, missing controllers, heartbeat')
      .description('Hosts running a governor agent: kernel, cgroup mode, controllers missing (limits not enforced there), heartbeat')
      .argument('[node]', 'show one node')
      .action(async (name: string | undefined) => {
        const client = cli.client();
        const items = name === undefined ? (await client.get<Items<NodeView>>('/v1/nodes')).items : [await client.get<NodeView>(`/v1/nodes/${segment(name)}`)];
        cli.print(name === undefined ? items : items[0], (wide) =>
          items.length === 0 ? 'No nodes.' : renderTable(NODE_COLUMNS, items, { wide, width: cli.width }),
        );
      }),
    ['govctl nodes', 'govctl nodes -o wide', 'govctl nodes host1 -o yaml'],
  );
}
