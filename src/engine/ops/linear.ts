/** nn.Linear on row-major activations [N, in] with the weight in transformers' [out, in] layout. */
import { int } from '../graph.js';
import type { GraphBuilder } from '../graph.js';

/** y = x · Wᵀ (+ b). Gemm with transB keeps weights in checkpoint layout: no transposed copies. */
export function linear(g: GraphBuilder, path: string, x: string, weight: string, bias?: string): string {
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return g.op(`${path}/Gemm`, 'Gemm', inputs, { transB: int(1) });
}
