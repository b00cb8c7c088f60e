/**
 * A folder written by `export --format onnx` (transformers.js's layout: config.json with
 * `transformers.js_config`, onnx/model*.onnx + .onnx_data), run as it is on onnxruntime: the
 * exported graph itself, fed as transformers.js feeds it, so `run` tries exactly what a
 * deployment runs. Decoding keeps the graph's own cache:
 *
 *   input_ids, attention_mask [B, P+T], position_ids, past_key_values.N.key/value [B, kv, P, d]
 *   ─▶ logits, present.N.key/value [B, kv, P+T, d]   (the next step's past)
 *
 * The cache tensors have the engine's layout, so they travel in the same KvCache.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { specFromConfig } from '../arch/registry.js';
import type { ArchSpec } from '../arch/spec.js';
import { FileError } from '../errors.js';
import { readModelConfig } from '../io/checkpoint.js';
import type { TokenBatch } from './batch.js';
import type { DecodingModel } from './decode.js';
import { type KvCache, emptyCache } from './kv-cache.js';
import { type FeedTensor, OrtSession, type OutputTensor, type SessionOptions } from './session.js';

const EXPORT_CONFIG_KEY = 'transformers.js_config';

/** The .onnx file an export folder's config names (use_external_data_format's key), if it is one. */
async function exportedModelFile(dir: string): Promise<string | undefined> {
  const text = await fs.readFile(path.join(dir, 'config.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    return undefined; // not ours to report: the HF loader says what is wrong with it
  }
  const exportConfig = (config as Record<string, unknown> | null)?.[EXPORT_CONFIG_KEY] as { use_external_data_format?: Record<string, unknown> } | undefined;
  if (!exportConfig) return undefined;
  const [file] = Object.keys(exportConfig.use_external_data_format ?? {});
  return path.join(dir, 'onnx', file ?? 'model.onnx');
}

/** Whether `dir` is an ONNX export folder (its config.json carries transformers.js_config). */
export async function isOnnxExportFolder(dir: string): Promise<boolean> {
  return (await exportedModelFile(dir)) !== undefined;
}

const int64 = (values: ArrayLike<number>) => BigInt64Array.from(Array.from(values, (v) => BigInt(v)));

export class ExportedOnnxLM implements DecodingModel {
  private constructor(
    readonly spec: ArchSpec,
    private readonly config: Record<string, unknown>,
    private readonly session: OrtSession,
  ) {}

  static async load(dir: string, opts: SessionOptions = {}): Promise<ExportedOnnxLM> {
    const file = await exportedModelFile(dir);
    if (!file) throw new FileError(path.join(dir, 'config.json'), `has no ${EXPORT_CONFIG_KEY}: not a folder written by \`export --format onnx\``);
    if (!(await fs.stat(file).catch(() => undefined))?.isFile()) throw new FileError(file, 'is missing (the export folder is incomplete)');
    const config = await readModelConfig(dir);
    const spec = specFromConfig(config, path.join(dir, 'config.json'));
    return new ExportedOnnxLM(spec, config, await OrtSession.create(file, opts));
  }

  /** Longest sequence the model was trained for (config max_position_embeddings), if it says. */
  get maxLength(): number | undefined {
    const v = this.config.max_position_embeddings;
    return typeof v === 'number' ? v : undefined;
  }

  async run(tokens: TokenBatch, opts: { past?: KvCache; logits?: boolean; cache?: boolean } = {}): Promise<{ logits?: OutputTensor; cache?: KvCache }> {
    const past = opts.past ?? emptyCache(this.spec, tokens.batch);
    const { batch, seqLen: T } = tokens;
    if ((tokens.past?.length ?? 0) !== past.length) throw new Error('run: build the batch with padBatch(..., cache) to continue a cache');
    const P = past.length;
    const mask = new Uint8Array(batch * (P + T));
    for (let b = 0; b < batch; b++) {
      mask.set(past.mask.subarray(b * P, (b + 1) * P), b * (P + T));
      mask.set(tokens.mask.subarray(b * T, (b + 1) * T), b * (P + T) + P);
    }
    const feeds: Record<string, FeedTensor> = {
      input_ids: { type: 'int64', data: int64(tokens.ids), dims: [batch, T] },
      attention_mask: { type: 'int64', data: int64(mask), dims: [batch, P + T] },
      position_ids: { type: 'int64', data: int64(tokens.positions), dims: [batch, T] },
    };
    this.spec.layers.forEach(({ kvHeads }, i) => {
      const dims = [batch, kvHeads, P, this.spec.headDim];
      feeds[`past_key_values.${i}.key`] = { type: 'float32', data: past.keys[i], dims };
      feeds[`past_key_values.${i}.value`] = { type: 'float32', data: past.values[i], dims };
    });
    const wanted = opts.logits ? ['logits'] : [];
    if (opts.cache) this.spec.layers.forEach((_, i) => wanted.push(`present.${i}.key`, `present.${i}.value`));
    const out = await this.session.run(feeds, wanted);
    return {
      logits: opts.logits ? out.logits : undefined,
      cache: opts.cache
        ? {
            batch,
            length: P + T,
            mask,
            keys: this.spec.layers.map((_, i) => out[`present.${i}.key`].data),
            values: this.spec.layers.map((_, i) => out[`present.${i}.value`].data),
          }
        : undefined,
    };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
