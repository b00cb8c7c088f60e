/** Rotary embedding on the last axis (head_dim) of x, with cos/sin tables that broadcast to x's
 *  shape but for that axis, of width rotary/2 (attention uses x [B, T, heads, dh], tables [B, T, 1, r/2]). */
import { int } from '../graph.js';
import type { GraphBuilder } from '../graph.js';

/**
 * transformers' rotate_half layout on the first `rotaryDim` dims; the rest pass through:
 *
 *   x ──Split(rot | pass)── rot ──Split(x1 | x2)──▶ [x1·cos − x2·sin, x2·cos + x1·sin, pass]
 */
export function applyRope(
  g: GraphBuilder,
  path: string,
  x: string,
  cos: string,
  sin: string,
  rotaryDim: number,
  headDim: number,
): string {
  const half = rotaryDim / 2;
  let rot = x;
  let pass: string | undefined;
  if (rotaryDim < headDim) {
    g.op(`${path}/SplitPass`, 'Split', [x, g.i64([rotaryDim, headDim - rotaryDim])], { axis: int(3) }, { outputCount: 2 });
    [rot, pass] = g.outputsOf(`${path}/SplitPass`, 2);
  }
  g.op(`${path}/SplitHalf`, 'Split', [rot, g.i64([half, half])], { axis: int(3) }, { outputCount: 2 });
  const [x1, x2] = g.outputsOf(`${path}/SplitHalf`, 2);
  const first = g.op(`${path}/Sub`, 'Sub', [g.op(`${path}/Mul`, 'Mul', [x1, cos]), g.op(`${path}/Mul_1`, 'Mul', [x2, sin])]);
  const second = g.op(`${path}/Add`, 'Add', [g.op(`${path}/Mul_2`, 'Mul', [x2, cos]), g.op(`${path}/Mul_3`, 'Mul', [x1, sin])]);
  const parts = pass ? [first, second, pass] : [first, second];
  return g.op(`${path}/Concat`, 'Concat', parts, { axis: int(3) });
}
