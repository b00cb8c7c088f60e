/** Training-free recovery methods by name (`--recover`). */
import { UserError } from '../errors.js';
import { bias } from './bias.js';
import { lsq } from './lsq.js';
import { none } from './none.js';
import type { RecoveryMethod } from './types.js';

export const RECOVERY_METHODS: readonly RecoveryMethod[] = [none, bias, lsq];

export function recoveryByName(name: string): RecoveryMethod {
  const m = RECOVERY_METHODS.find((x) => x.name === name);
  if (!m) throw new UserError(`unknown recovery '${name}' (choose one of: ${RECOVERY_METHODS.map((x) => x.name).join(', ')})`);
  return m;
}
