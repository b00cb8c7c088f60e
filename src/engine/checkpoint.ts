/**
 * An opened model folder: parsed config, its ArchSpec, lazy tensors, and shape-checked access to
 * weights by logical name. Nothing is read beyond headers until a weight is asked for.
 */
import path from 'node:path';
import { specFromConfig } from '../arch/registry.js';
import type { ArchSpec, GlobalWeight, GlobalWeightName, LayerWeight, LayerWeightName } from '../arch/spec.js';
import { FileError } from '../errors.js';
import { readModelConfig } from '../io/checkpoint.js';
import { TensorStore } from '../io/tensor-store.js';

export interface Checkpoint {
  dir: string;
  config: Record<string, unknown>;
  spec: ArchSpec;
  store: TensorStore;
}

export async function openCheckpoint(dir: string): Promise<Checkpoint> {
  const config = await readModelConfig(dir);
  const spec = specFromConfig(config, path.join(dir, 'config.json'));
  const store = await TensorStore.open(dir);
  checkShapes(dir, spec, store);
  return { dir, config, spec, store };
}

/**
 * Every tensor the spec needs exists with the shape config.json implies (fused tensors: the sum of
 * their row ranges). Catches a config/weights mismatch before any compute.
 */
function checkShapes(dir: string, spec: ArchSpec, store: TensorStore): void {
  const expected = new Map<string, number[]>();
  const expect = (w: LayerWeight | GlobalWeight) => {
    const { tensor, rows } = w.source;
    if (!rows) return expected.set(tensor, w.shape);
    const prev = expected.get(tensor);
    const end = Math.max(rows[1], prev?.[0] ?? 0);
    expected.set(tensor, [end, ...w.shape.slice(1)]);
  };
  spec.globalWeights().forEach(expect);
  for (let i = 0; i < spec.numLayers; i++) spec.layerWeights(i).forEach(expect);
  for (const [tensor, shape] of expected) {
    if (!store.has(tensor)) throw new FileError(dir, `tensor ${tensor} is missing from the checkpoint (needed by ${spec.architecture})`);
    const info = store.info(tensor);
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      throw new FileError(info.file, `tensor ${tensor} has shape [${info.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`);
    }
  }
}

/** Reads weights as float32, slicing fused tensors by rows; the last fused tensor read is kept. */
export class WeightReader {
  private cached: { tensor: string; data: Float32Array } | undefined;

  constructor(private readonly store: TensorStore) {}

  async read(w: LayerWeight | GlobalWeight): Promise<Float32Array> {
    const { tensor, rows } = w.source;
    if (!rows) return this.store.readFloat32(tensor);
    if (this.cached?.tensor !== tensor) this.cached = { tensor, data: await this.store.readFloat32(tensor) };
    const rowSize = w.shape.length > 1 ? w.shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    return this.cached.data.subarray(rows[0] * rowSize, rows[1] * rowSize);
  }

  async layer(spec: ArchSpec, i: number): Promise<Map<LayerWeightName, Float32Array>> {
    const out = new Map<LayerWeightName, Float32Array>();
    for (const w of spec.layerWeights(i)) out.set(w.name, await this.read(w));
    this.cached = undefined;
    return out;
  }

  async globals(spec: ArchSpec): Promise<Map<GlobalWeightName, Float32Array>> {
    const out = new Map<GlobalWeightName, Float32Array>();
    for (const w of spec.globalWeights()) out.set(w.name, await this.read(w));
    return out;
  }
}
