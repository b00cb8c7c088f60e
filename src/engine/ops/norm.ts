/** Normalisations as ONNX subgraphs. */
import { float, ints, int } from '../graph.js';
import type { GraphBuilder } from '../graph.js';
import type { NormKind } from '../../arch/spec.js';

/**
 * RMSNorm as transformers computes it (last axis):
 *
 *   x ──Pow(2)──ReduceMean──Add(eps)──Sqrt──┐
 *   └──────────────────────────────────────Div──Mul(weight)──▶
 *
 * (the canonical pattern onnxruntime fuses into SimplifiedLayerNormalization)
 */
export function rmsNorm(g: GraphBuilder, path: string, x: string, weight: string, eps: number): string {
  const sq = g.op(`${path}/Pow`, 'Pow', [x, g.f32(2)]);
  const mean = g.op(`${path}/ReduceMean`, 'ReduceMean', [sq], { axes: ints([-1]), keepdims: int(1) });
  const std = g.op(`${path}/Sqrt`, 'Sqrt', [g.op(`${path}/Add`, 'Add', [mean, g.f32(eps)])]);
  const normed = g.op(`${path}/Div`, 'Div', [x, std]);
  return g.op(`${path}/Mul`, 'Mul', [normed, weight]);
}

export function layerNorm(g: GraphBuilder, path: string, x: string, weight: string, bias: string | undefined, eps: number): string {
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return g.op(`${path}/LayerNormalization`, 'LayerNormalization', inputs, { axis: int(-1), epsilon: float(eps) });
}

export function norm(g: GraphBuilder, kind: NormKind, path: string, x: string, weight: string, bias: string | undefined, eps: number): string {
  return kind === 'rms' ? rmsNorm(g, path, x, weight, eps) : layerNorm(g, path, x, weight, bias, eps);
}
