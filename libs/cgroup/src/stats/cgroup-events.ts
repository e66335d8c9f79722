import { parseFlatKeyed } from './flat-keyed';

/** cgroup.events of one cgroup. */
export interface CgroupEvents {
  /** populated: the cgroup or a descendant has live processes. */
  populated: boolean;
  /** frozen: the cgroup is frozen (cgroup.freeze written and every task stopped). 5.2+. */
  frozen?: boolean;
}

/**
 * Parses cgroup.events (flat keyed, values 0 or 1). The file exists on non-root cgroups only:
 * the root has no cgroup.events at all (seen on 6.1 and 6.18), so a caller reading the root gets no
 * text rather than a missing key.
 *
 * - populated: every kernel with cgroup v2.
 * - frozen: 5.2+ (the v2 freezer), so on every supported kernel; optional all the same.
 *
 * Any value other than 0 reads as true. Returns undefined when "populated" is missing.
 */
export function parseCgroupEvents(text: string): CgroupEvents | undefined {
  const values = parseFlatKeyed(text);
  const populated = values.get('populated');
  if (populated === undefined) return undefined;
  const frozen = values.get('frozen');
  return frozen === undefined ? { populated: populated !== 0 } : { populated: populated !== 0, frozen: frozen !== 0 };
}
