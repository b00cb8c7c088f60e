/**
 * Which rows and columns of each logical weight survive a layer plan, and the byte-level copy
 * that applies them. Slicing works on raw stored bytes, so untouched values keep their exact
 * bits and dtype (bf16 stays bf16 with no round trip through float32).
 */
import type { ArchSpec, LayerWeightName } from '../arch/spec.js';
import type { LayerPlan } from '../plan/types.js';

export interface Kept {
  rows?: number[];
  cols?: number[];
}

/** Head indices -> the rows (or columns) they own: head h owns [h·dh, (h+1)·dh). */
export function expandHeads(heads: readonly number[], headDim: number): number[] {
  return heads.flatMap((h) => Array.from({ length: headDim }, (_, i) => h * headDim + i));
}

export function keptIndices(spec: ArchSpec, name: LayerWeightName, plan: LayerPlan): Kept {
  const dh = spec.headDim;
  switch (name) {
    case 'q.weight':
    case 'q.bias':
      return { rows: expandHeads(plan.heads, dh) };
    case 'k.weight':
    case 'k.bias':
    case 'v.weight':
    case 'v.bias':
      return { rows: expandHeads(plan.kvHeads, dh) };
    case 'o.weight':
      return { cols: expandHeads(plan.heads, dh) };
    case 'gate.weight':
    case 'gate.bias':
    case 'up.weight':
    case 'up.bias':
      return { rows: [...plan.neurons] };
    case 'down.weight':
      return { cols: [...plan.neurons] };
    default:
      return {};
  }
}

/** Copy the kept rows/columns of a row-major tensor stored as raw bytes. */
export function selectBytes(raw: Uint8Array, shape: readonly number[], elementSize: number, kept: Kept): Uint8Array {
  const rows = shape[0];
  const cols = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
  const rowIdx = kept.rows ?? null;
  const colIdx = kept.cols ?? null;
  if (!rowIdx && !colIdx) return raw;
  const outRows = rowIdx ? rowIdx.length : rows;
  const outCols = colIdx ? colIdx.length : cols;
  const out = new Uint8Array(outRows * outCols * elementSize);
  const rowBytes = cols * elementSize;
  for (let r = 0; r < outRows; r++) {
    const src = (rowIdx ? rowIdx[r] : r) * rowBytes;
    const dst = r * outCols * elementSize;
    if (!colIdx) {
      out.set(raw.subarray(src, src + rowBytes), dst);
      continue;
    }
    for (let c = 0; c < outCols; c++) {
      const s = src + colIdx[c] * elementSize;
      out.set(raw.subarray(s, s + elementSize), dst + c * elementSize);
    }
  }
  return out;
}

/** Indices in [0, n) that are not in `kept` (sorted). */
export function removedIndices(n: number, kept: readonly number[]): number[] {
  const keep = new Set(kept);
  return Array.from({ length: n }, (_, i) => i).filter((i) => !keep.has(i));
}

/** The kept rows/columns of a float32 tensor (the recovery pass works on widened weights). */
export function sliceFloat32(data: Float32Array, shape: readonly number[], kept: Kept): Float32Array {
  const bytes = selectBytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), shape, 4, kept);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
