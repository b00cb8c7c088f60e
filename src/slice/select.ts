/**
 * Which rows and columns of each logical weight survive a layer plan, and the byte-level copy
 * that applies them. Slicing works on raw stored bytes, so untouched values keep their exact
 * bits and dtype (bf16 stays bf16 with no round trip through float32).
 */
import type { ArchSpec, LayerWeight, LayerWeightName, Structure } from '../arch/spec.js';
import type { LayerPlan } from '../plan/types.js';

export interface Kept {
  rows?: number[];
  cols?: number[];
}

/** Structure indices -> the rows (or columns) they own: structure s owns [s·block, (s+1)·block). */
export function expandBlocks(kept: readonly number[], block: number): number[] {
  return kept.flatMap((s) => Array.from({ length: block }, (_, i) => s * block + i));
}

const KEPT_OF: Record<Structure, (plan: LayerPlan) => number[]> = { head: (p) => p.heads, kvHead: (p) => p.kvHeads, neuron: (p) => p.neurons };

/** The rows or columns of `weight` that survive `plan`, as its ownership table entry says. */
export function keptFor(weight: LayerWeight, plan: LayerPlan): Kept {
  if (!weight.owner) return {};
  const indices = expandBlocks(KEPT_OF[weight.owner.structure](plan), weight.owner.block);
  return weight.owner.axis === 'rows' ? { rows: indices } : { cols: indices };
}

/** keptFor by logical name (ownership is a per-name fact of the family, the same on every layer). */
export function keptIndices(spec: ArchSpec, name: LayerWeightName, plan: LayerPlan): Kept {
  for (let i = 0; i < spec.numLayers; i++) {
    const w = spec.layerWeights(i).find((x) => x.name === name);
    if (w) return keptFor(w, plan);
  }
  return {};
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
