import { basename } from 'node:path';
import type { Condition } from '../../../../libs/cgroup/src/condition';
import { MEMORY_LIMIT_PENDING } from '../../../../libs/cgroup/src/tenant-apply';

/** What the drift decision needs of the status this node wrote last. */
export interface AppliedStatus {
  observedGeneration: number;
  phase: string;
  conditions: readonly Condition[];
}

/** The files a pending memory.max still has to write: memory.max itself, and memory.high back from its interim value. */
const PENDING_MEMORY_FILES = new Set(['memory.max', 'memory.high']);

/**
 * Whether this generation was applied here already, so that a change now undoes an edit made behind
 * Governor's back. An Error status applied nothing for sure.
 */
export function appliedBefore(previous: AppliedStatus | undefined, generation: number): boolean {
  return previous !== undefined && previous.observedGeneration === generation && previous.phase !== 'Error';
}

/**
 * The changes of a pass that correct drift. A memory.max that waited for reclaim (MemoryLimitPending) and
 * is written now finishes Governor's own change: it is not drift, nor is memory.high going from its interim
 * value to its own.
 */
export function driftOf<T extends { file: string }>(previous: AppliedStatus | undefined, generation: number, changes: readonly T[]): T[] {
  if (!appliedBefore(previous, generation)) return [];
  const pending = previous!.conditions.some((c) => c.reason === MEMORY_LIMIT_PENDING);
  return changes.filter((change) => !(pending && PENDING_MEMORY_FILES.has(basename(change.file))));
}
