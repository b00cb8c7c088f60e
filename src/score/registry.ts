/** Importance methods by name (`--method`). */
import { UserError } from '../errors.js';
import { amp, reversed } from './amp.js';
import { flap } from './flap.js';
import { magnitude } from './magnitude.js';
import { random } from './random.js';
import type { Method } from './types.js';
import { wandaSp } from './wanda-sp.js';

export const METHODS: readonly Method[] = [amp, reversed, random, magnitude, wandaSp, flap];

export function methodByName(name: string): Method {
  const m = METHODS.find((x) => x.name === name);
  if (!m) throw new UserError(`unknown method '${name}' (choose one of: ${METHODS.map((x) => x.name).join(', ')})`);
  return m;
}
