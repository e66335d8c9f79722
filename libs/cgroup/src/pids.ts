import type { PidsQuota } from '../../domain/src/quota.types';
import { type FileTarget, limitTarget } from './target';

export function pidsTargets(pids: PidsQuota | undefined): FileTarget[] {
  return [limitTarget('pids.max', pids?.max ?? 'max')];
}
