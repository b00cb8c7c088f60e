/**
 * The writing pass: stream the input checkpoint layer by layer, slice each layer's tensors to the
 * plan (raw bytes, dtype preserved), take the recovery pass's rewritten tensors where given, and write the
 * output folder through the atomic checkpoint writer. Tensor names, order and fusing come from
 * the OUTPUT config's ArchSpec, so whatever stock loaders expect is what gets written.
 */
import { specFromConfig } from '../arch/registry.js';
import type { ArchSpec, GlobalWeight, LayerWeight, LayerWeightName } from '../arch/spec.js';
import type { Checkpoint } from '../engine/checkpoint.js';
import { fromFloat32, isFloatDtype, ELEMENT_SIZE } from '../io/dtype.js';
import type { FloatDtype } from '../io/dtype.js';
import { AMP_PRUNE_FILE, recordToWrite } from '../export/amp-prune-record.js';
import type { AmpPruneRecord } from '../export/amp-prune-record.js';
import { CheckpointWriter, copyTokenizerFiles } from '../export/checkpoint-writer.js';
import type { LayerPlan } from '../plan/types.js';
import { keptIndices, selectBytes } from '../slice/select.js';
import { UserError } from '../errors.js';
import { firstNonFiniteValue } from '../io/finite.js';

interface Piece {
  layer?: number;
  weight: LayerWeight | GlobalWeight;
}

interface OutputTensor {
  name: string;
  dtype: FloatDtype;
  shape: number[];
  pieces: Piece[];
  layer?: number;
}

export interface WritePassOptions {
  outDir: string;
  force: boolean;
  outConfig: Record<string, unknown>;
  plans: LayerPlan[];
  /** Recovery: rewritten float32 tensors of a layer (logical names), asked once per layer, in order. */
  layerTensors?: (layer: number) => Promise<Map<LayerWeightName, Float32Array>>;
  /** amp_prune.json, built after the last layer (it records what recovery measured). */
  json: () => AmpPruneRecord;
  maxShardBytes?: number;
  onProgress?: (layer: number, layers: number) => void;
}

function dominantDtype(ckpt: Checkpoint): FloatDtype {
  const counts = ckpt.store.dtypes();
  const best = (Object.entries(counts) as [string, number][]).filter(([d]) => isFloatDtype(d)).sort((a, b) => b[1] - a[1])[0];
  return (best?.[0] as FloatDtype | undefined) ?? 'F32';
}

/** Output tensors in write order: embeddings, layer 0 … L-1, then the remaining globals, then anything the spec doesn't know. */
function outputTensors(ckpt: Checkpoint, out: ArchSpec): OutputTensor[] {
  const fallback = dominantDtype(ckpt);
  const byName = new Map<string, OutputTensor>();
  const order: OutputTensor[] = [];
  const add = (w: LayerWeight | GlobalWeight, layer?: number) => {
    let t = byName.get(w.source.tensor);
    if (!t) {
      const stored = ckpt.store.has(w.source.tensor) ? ckpt.store.info(w.source.tensor).dtype : fallback;
      t = { name: w.source.tensor, dtype: isFloatDtype(stored) ? stored : fallback, shape: [0, ...w.shape.slice(1)], pieces: [], layer };
      byName.set(t.name, t);
      order.push(t);
    }
    t.pieces.push({ layer, weight: w });
    t.shape[0] = w.source.rows ? t.shape[0] + w.shape[0] : w.shape[0];
    if (!w.source.rows) t.shape = [...w.shape];
  };
  const globals = out.globalWeights();
  globals.filter((w) => w.name === 'embed.weight').forEach((w) => add(w));
  for (let i = 0; i < out.numLayers; i++) out.layerWeights(i).forEach((w) => add(w, i));
  globals.filter((w) => w.name !== 'embed.weight').forEach((w) => add(w));
  for (const name of ckpt.store.names()) {
    if (byName.has(name)) continue;
    const info = ckpt.store.info(name);
    const t: OutputTensor = { name, dtype: info.dtype as FloatDtype, shape: [...info.shape], pieces: [] };
    byName.set(name, t);
    order.push(t);
  }
  return order;
}

export async function writePrunedCheckpoint(ckpt: Checkpoint, opts: WritePassOptions): Promise<void> {
  const outSpec = specFromConfig(opts.outConfig, `${opts.outDir}/config.json`);
  const tensors = outputTensors(ckpt, outSpec);
  const writer = await CheckpointWriter.create(opts.outDir, {
    tensors: tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape })),
    maxShardBytes: opts.maxShardBytes,
    metadata: { format: 'pt' },
    force: opts.force,
    inputDir: ckpt.dir,
  });
  try {
    let currentLayer = -1;
    let layerCache = new Map<string, Uint8Array>();
    let rewritten: Map<LayerWeightName, Float32Array> | undefined;
    const rawOf = async (tensor: string) => {
      let raw = layerCache.get(tensor);
      if (!raw) {
        raw = await ckpt.store.readRaw(tensor);
        layerCache.set(tensor, raw);
      }
      return raw;
    };
    for (const t of tensors) {
      if (t.layer !== undefined && t.layer !== currentLayer) {
        if (currentLayer >= 0) opts.onProgress?.(currentLayer, ckpt.spec.numLayers);
        currentLayer = t.layer;
        layerCache = new Map();
        rewritten = await opts.layerTensors?.(t.layer);
        for (const [weight, values] of rewritten ?? []) {
          const bad = firstNonFiniteValue(values);
          if (bad) throw new UserError(`layer ${t.layer}: recovery produced ${bad.kind} in ${weight} (at value ${bad.index}); try a larger --recover-damp or --recover none`);
        }
      }
      if (t.pieces.length === 0) {
        await writer.write(t.name, await ckpt.store.readRaw(t.name));
        continue;
      }
      const parts: Uint8Array[] = [];
      for (const p of t.pieces) {
        const own = p.layer !== undefined ? rewritten?.get(p.weight.name as LayerWeightName) : undefined;
        parts.push(own ? fromFloat32(own, t.dtype) : await pieceBytes(ckpt, p, t.dtype, opts, rawOf));
      }
      await writer.write(t.name, concat(parts));
    }
    if (currentLayer >= 0) opts.onProgress?.(currentLayer, ckpt.spec.numLayers);
    await writer.writeJson('config.json', opts.outConfig);
    await writer.writeJson(AMP_PRUNE_FILE, recordToWrite(opts.json()));
    await copyTokenizerFiles(ckpt.dir, writer);
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The bytes of one logical weight in the output: sliced from the input, or a new zero bias. */
async function pieceBytes(
  ckpt: Checkpoint,
  piece: Piece,
  dtype: FloatDtype,
  opts: WritePassOptions,
  rawOf: (tensor: string) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const elem = ELEMENT_SIZE[dtype];
  if (piece.layer === undefined) return rawOf(piece.weight.source.tensor);
  const layer = piece.layer;
  const name = piece.weight.name as LayerWeightName;
  const input = ckpt.spec.layerWeights(layer).find((w) => w.name === name);
  const plan = opts.plans[layer];
  let bytes: Uint8Array;
  if (input) {
    const raw = await rawOf(input.source.tensor);
    const rowBytes = (input.shape.length > 1 ? input.shape.slice(1).reduce((a, b) => a * b, 1) : 1) * elem;
    const own = input.source.rows ? raw.subarray(input.source.rows[0] * rowBytes, input.source.rows[1] * rowBytes) : raw;
    bytes = selectBytes(own, input.shape, elem, keptIndices(ckpt.spec, name, plan));
  } else {
    bytes = new Uint8Array(piece.weight.shape.reduce((a, b) => a * b, 1) * elem); // a zero bias the output config now declares
  }
  return bytes;
}
