/** Attention key/value cache of a batch: what `CausalLM.run` takes and returns. */
import type { ArchSpec } from '../arch/spec.js';

export interface KvCache {
  batch: number;
  /** Cached positions P (padding included). */
  length: number;
  /** [B, P]: 1 where the cached position holds a real token. */
  mask: Uint8Array;
  /** Per layer, [B, kv_heads, P, head_dim]. */
  keys: Float32Array[];
  values: Float32Array[];
}

export function emptyCache(spec: ArchSpec, batch: number): KvCache {
  return {
    batch,
    length: 0,
    mask: new Uint8Array(0),
    keys: spec.layers.map(() => new Float32Array(0)),
    values: spec.layers.map(() => new Float32Array(0)),
  };
}

/** A cache whose row r is row `rows[r]` of `source` (rows may repeat): one context, many continuations. */
export function selectRows(source: KvCache, rows: readonly number[]): KvCache {
  const P = source.length;
  const take = (tensors: Float32Array[]) =>
    tensors.map((t) => {
      const perRow = t.length / source.batch;
      const out = new Float32Array(rows.length * perRow);
      rows.forEach((r, i) => out.set(t.subarray(r * perRow, (r + 1) * perRow), i * perRow));
      return out;
    });
  const mask = new Uint8Array(rows.length * P);
  rows.forEach((r, i) => mask.set(source.mask.subarray(r * P, (r + 1) * P), i * P));
  return { batch: rows.length, length: P, mask, keys: take(source.keys), values: take(source.values) };
}
