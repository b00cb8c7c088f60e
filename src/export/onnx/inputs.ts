/**
 * The inputs transformers.js feeds a decoder-only model (optimum's export layout), turned into
 * what the engine's layers read:
 *
 *   position_ids [B, T] ─Cast─·inv_freq─▶ angles [B, T, r/2] ─Cos/Sin─(·scale)─▶ cos/sin [B, 1, T, r/2]
 *   attention_mask [B, P+T] ─┐
 *   Range(P+T) ≤ Range(P, P+T)ᵀ (causal, ∩ window) ─And─Where(0, MASK_MIN)─▶ bias [B, 1, 1, T, P+T]
 *
 * Positions come from the caller (transformers.js: cumsum(mask) − 1), so left padding works.
 */
import type { ArchSpec } from '../../arch/spec.js';
import { MASK_MIN } from '../../engine/batch.js';
import { ElemType, type GraphBuilder, int } from '../../engine/graph.js';
import type { BodyInputs } from '../../engine/model.js';

/** Symbolic dimension names as transformers.js resolves them for an empty cache (batch_size; others 0). */
export const DIM = { batch: 'batch_size', seq: 'sequence_length', past: 'past_sequence_length', total: 'total_sequence_length' } as const;

export const pastName = (layer: number, which: 'key' | 'value'): string => `past_key_values.${layer}.${which}`;
export const presentName = (layer: number, which: 'key' | 'value'): string => `present.${layer}.${which}`;

/** Frequencies that do not depend on the sequence length (the graph computes cos/sin per position). */
export function fixedFrequencies(spec: ArchSpec): { invFreq: Float32Array; scale: number } | undefined {
  const short = spec.rope.frequencies(1);
  const long = spec.rope.frequencies(Number.MAX_SAFE_INTEGER);
  const same = short.scale === long.scale && short.invFreq.every((x, i) => x === long.invFreq[i]);
  return same ? short : undefined;
}

export function emitExportInputs(g: GraphBuilder, spec: ArchSpec): BodyInputs {
  const ids = g.input('input_ids', ElemType.INT64, [DIM.batch, DIM.seq]);
  const mask = g.input('attention_mask', ElemType.INT64, [DIM.batch, DIM.total]);
  const positions = g.input('position_ids', ElemType.INT64, [DIM.batch, DIM.seq]);
  const past = spec.layers.map(({ kvHeads }, i) => ({
    key: g.input(pastName(i, 'key'), ElemType.FLOAT, [DIM.batch, kvHeads, DIM.past, spec.headDim]),
    value: g.input(pastName(i, 'value'), ElemType.FLOAT, [DIM.batch, kvHeads, DIM.past, spec.headDim]),
  }));
  const { cos, sin } = rotary(g, spec, positions);
  const biases = new Map<number | undefined, string>();
  const bias = (window: number | undefined): string => {
    let b = biases.get(window);
    if (!b) biases.set(window, (b = attentionBias(g, ids, mask, window)));
    return b;
  };
  return { ids, attnBias: bias, cos, sin, past: (i) => past[i] };
}

function rotary(g: GraphBuilder, spec: ArchSpec, positions: string): { cos: string; sin: string } {
  const freqs = fixedFrequencies(spec);
  if (!freqs) throw new Error('rotary frequencies depend on the sequence length; checked before export');
  const half = spec.rope.rotaryDim / 2;
  const invFreq = g.initializer({ name: '/rope/inv_freq', elemType: ElemType.FLOAT, dims: [half], raw: new Uint8Array(Float32Array.from(freqs.invFreq).buffer) });
  const pos = g.op('/rope/positions/Unsqueeze', 'Unsqueeze', [g.op('/rope/positions/Cast', 'Cast', [positions], { to: int(ElemType.FLOAT) }), g.i64([-1])]);
  const angles = g.op('/rope/angles/Mul', 'Mul', [pos, invFreq]); // [B, T, half]
  const table = (fn: 'Cos' | 'Sin') => {
    let t = g.op(`/rope/${fn}`, fn, [angles]);
    if (freqs.scale !== 1) t = g.op(`/rope/${fn}/scale/Mul`, 'Mul', [t, g.f32(freqs.scale)]);
    return g.op(`/rope/${fn}/Unsqueeze`, 'Unsqueeze', [t, g.i64([1])]); // [B, 1, T, half]
  };
  return { cos: table('Cos'), sin: table('Sin') };
}

function attentionBias(g: GraphBuilder, ids: string, mask: string, window: number | undefined): string {
  const p = window === undefined ? '/mask' : `/mask/window_${window}`;
  const scalarDim = (name: string, x: string, axis: number) =>
    g.op(`${p}/${name}/Gather`, 'Gather', [g.op(`${p}/${name}/Shape`, 'Shape', [x]), g.i64Scalar(axis)], { axis: int(0) });
  const total = scalarDim('total', mask, 1);
  const seq = scalarDim('seq', ids, 1);
  const pastLen = g.op(`${p}/past/Sub`, 'Sub', [total, seq]);
  const keyPos = g.op(`${p}/keys/Range`, 'Range', [g.i64Scalar(0), total, g.i64Scalar(1)]); // [K]
  const queryPos = g.op(`${p}/queries/Unsqueeze`, 'Unsqueeze', [g.op(`${p}/queries/Range`, 'Range', [pastLen, total, g.i64Scalar(1)]), g.i64([1])]); // [T, 1]
  let allowed = g.op(`${p}/causal/LessOrEqual`, 'LessOrEqual', [keyPos, queryPos]); // [T, K]
  if (window !== undefined) {
    // a query at q sees keys q - window + 1 .. q
    const first = g.op(`${p}/window/Sub`, 'Sub', [queryPos, g.i64Scalar(window)]);
    allowed = g.op(`${p}/window/And`, 'And', [allowed, g.op(`${p}/window/Greater`, 'Greater', [keyPos, first])]);
  }
  const real = g.op(`${p}/padding/Unsqueeze`, 'Unsqueeze', [g.op(`${p}/padding/Cast`, 'Cast', [mask], { to: int(ElemType.BOOL) }), g.i64([1, 2, 3])]); // [B, 1, 1, 1, K]
  const both = g.op(`${p}/And`, 'And', [real, allowed]); // [B, 1, 1, T, K]
  return g.op(`${p}/Where`, 'Where', [both, g.f32(0), g.f32(MASK_MIN)]);
}
