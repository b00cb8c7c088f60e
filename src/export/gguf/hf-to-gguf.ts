/**
 * Hugging Face LLaMA folder (dense, or pruned by amp-prune with the same widths in every layer,
 * with or without the o_proj/down_proj biases recovery writes) -> one GGUF file that stock
 * llama.cpp loads (architecture "llama").
 *
 *   config.json ─▶ checks (family, widths, rope, biases) ─▶ tensor plan + tokenizer metadata
 *   ─▶ header (offsets known from shapes) ─▶ per tensor: read ─▶ permute q/k ─▶ encode ─▶ write ─▶ rename
 *
 * Every check runs before the output is created, so bad input leaves nothing behind.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { LAYER_WIDTHS_KEY } from '../../arch/common.js';
import { specFromConfig } from '../../arch/registry.js';
import type { ArchSpec } from '../../arch/spec.js';
import { FileError, UsageError } from '../../errors.js';
import { readModelConfig } from '../../io/checkpoint.js';
import { TensorStore } from '../../io/tensor-store.js';
import { GgufFileWriter, encodeHeader, planSlots } from './file-layout.js';
import { type GgufTensorPlan, llamaTensorPlan, permuteRows, unplaceableLayerWeight } from './llama-tensors.js';
import { type KvEntry, f32, str, u32 } from './metadata-writer.js';
import { type GgufTensorType, Q8_0_BLOCK, encodeTensor } from './quantize.js';
import { tokenizerMetadata } from './tokenizer.js';

export const GGUF_DTYPES = ['f32', 'f16', 'q8_0'] as const;
export type GgufDtype = (typeof GGUF_DTYPES)[number];

/** general.file_type (llama_ftype): ALL_F32, MOSTLY_F16, MOSTLY_Q8_0. */
const FILE_TYPES: Record<GgufDtype, number> = { f32: 0, f16: 1, q8_0: 7 };

export interface GgufExportOptions {
  dtype?: GgufDtype;
  /** Replace an existing output file. */
  force?: boolean;
  progress?: { start?(total: number): void; tensorDone?(name: string): void };
}

export interface GgufExportSummary {
  out: string;
  architecture: 'llama';
  dtype: GgufDtype;
  tensors: number;
  /** ggml type -> how many tensors have it. */
  tensorTypes: Record<string, number>;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  tiedEmbeddings: boolean;
  tokenizer: string;
  bytes: number;
}

type Json = Record<string, unknown>;

/** Everything llama.cpp's "llama" graph cannot express is refused here, by name. */
function checkExportable(spec: ArchSpec, config: Json, configPath: string): void {
  if (spec.family !== 'llama' || spec.modelType !== 'llama') {
    throw new FileError(configPath, `${spec.architecture} (model_type ${spec.modelType}) cannot be exported to GGUF (supported: LlamaForCausalLM, model_type llama)`);
  }
  // llama.cpp reads feed_forward_length / head_count as per-layer arrays, but its llama
  // architecture sizes every layer from layer 0 (node-llama-cpp 3.21.1 refuses such a file:
  // "check_tensor_dims: tensor 'blk.1.ffn_gate.weight' has wrong shape"), so none is written.
  if (config[LAYER_WIDTHS_KEY] !== undefined && config[LAYER_WIDTHS_KEY] !== null) {
    throw new FileError(configPath, `${LAYER_WIDTHS_KEY} gives per-layer widths, which GGUF export does not write (llama.cpp's llama graph takes one head count and FFN width for all layers); prune with --allocation uniform`);
  }
  // llama.cpp's llama graph adds a bias after every projection it finds one for (q/k/v, o,
  // gate/up/down), so those pass; anything else (q/k norms, fused rows) it would drop silently.
  const unplaceable = unplaceableLayerWeight(spec);
  if (unplaceable) throw new FileError(configPath, `layers have ${unplaceable}, which llama.cpp's llama graph has no tensor for`);
  if (spec.activation !== 'silu') throw new FileError(configPath, `hidden_act ${spec.activation} is not supported by GGUF export (llama uses silu)`);
  if (spec.slidingWindows.some((w) => w !== undefined)) throw new FileError(configPath, 'sliding-window attention is not supported by GGUF export');
  if (spec.rope.rotaryDim !== spec.headDim) throw new FileError(configPath, 'partial rotary embeddings are not supported by GGUF export');
  const params: Json = { ...((config.rope_scaling as Json | null) ?? {}), ...((config.rope_parameters as Json | null) ?? {}) };
  const ropeType = String(params.rope_type ?? params.type ?? 'default');
  if (ropeType !== 'default') throw new FileError(configPath, `rope type ${ropeType} is not supported by GGUF export (only default rotary embeddings)`);
}

function ropeTheta(config: Json): number {
  const params = (config.rope_parameters as Json | null) ?? {};
  const theta = params.rope_theta ?? config.rope_theta ?? 10000;
  return typeof theta === 'number' ? theta : 10000;
}

function hyperparameters(spec: ArchSpec, config: Json, dtype: GgufDtype): KvEntry[] {
  const { heads, kvHeads, intermediate } = spec.layers[0];
  const contextLength = typeof config.max_position_embeddings === 'number' ? config.max_position_embeddings : 2048;
  const entries: KvEntry[] = [
    ['general.architecture', str('llama')],
    ['general.file_type', u32(FILE_TYPES[dtype])],
    ['llama.vocab_size', u32(spec.vocab)],
    ['llama.context_length', u32(contextLength)],
    ['llama.embedding_length', u32(spec.hidden)],
    ['llama.block_count', u32(spec.numLayers)],
    ['llama.feed_forward_length', u32(intermediate)],
    ['llama.attention.head_count', u32(heads)],
    ['llama.attention.head_count_kv', u32(kvHeads)],
    ['llama.rope.freq_base', f32(ropeTheta(config))],
    ['llama.attention.layer_norm_rms_epsilon', f32(spec.norm.eps)],
    ['llama.rope.dimension_count', u32(spec.headDim)],
  ];
  // llama.cpp assumes head size embedding_length / head_count; a pruned model keeps its
  // original head size with fewer heads, so the size must be stated.
  if (spec.headDim * heads !== spec.hidden) {
    entries.push(['llama.attention.key_length', u32(spec.headDim)], ['llama.attention.value_length', u32(spec.headDim)]);
  }
  if (dtype === 'q8_0') entries.push(['general.quantization_version', u32(2)]);
  return entries;
}

/** Norms stay F32 as llama.cpp's converter keeps them; Q8_0 needs rows of whole blocks, else F16. */
function tensorType(plan: GgufTensorPlan, dtype: GgufDtype): GgufTensorType {
  if (plan.shape.length === 1 || dtype === 'f32') return 'F32';
  if (dtype === 'q8_0' && plan.shape[plan.shape.length - 1] % Q8_0_BLOCK === 0) return 'Q8_0';
  return 'F16';
}

/** The plans less the optional tensors that hold only zeros (biases are small: read whole). */
async function withoutZeroBiases(plans: GgufTensorPlan[], store: TensorStore): Promise<GgufTensorPlan[]> {
  const kept: GgufTensorPlan[] = [];
  for (const plan of plans) {
    if (plan.omitIfZero && (await store.readFloat32(plan.hfName)).every((x) => x === 0)) continue;
    kept.push(plan);
  }
  return kept;
}

async function checkTarget(out: string, force: boolean): Promise<void> {
  const parent = path.dirname(path.resolve(out));
  const dir = await fs.stat(parent).catch(() => undefined);
  if (!dir?.isDirectory()) throw new FileError(out, `folder ${parent} does not exist`);
  const existing = await fs.stat(out).catch(() => undefined);
  if (existing?.isDirectory()) throw new FileError(out, 'is a folder (expected a .gguf file path)');
  if (existing && !force) throw new FileError(out, 'already exists (use --force to replace it)');
}

export async function exportHfToGguf(modelDir: string, out: string, options: GgufExportOptions = {}): Promise<GgufExportSummary> {
  const dtype = options.dtype ?? 'f32';
  if (!GGUF_DTYPES.includes(dtype)) throw new UsageError(`--dtype ${String(dtype)} is not supported (choose ${GGUF_DTYPES.join(', ')})`);
  const config = await readModelConfig(modelDir);
  const configPath = path.join(modelDir, 'config.json');
  const spec = specFromConfig(config, configPath);
  checkExportable(spec, config, configPath);
  const allPlans = llamaTensorPlan(spec);
  const tokenizer = await tokenizerMetadata(modelDir, spec.vocab, config);

  const store = await TensorStore.open(modelDir);
  try {
    const planned = new Set(allPlans.map((p) => p.hfName));
    for (const plan of allPlans) {
      if (!store.has(plan.hfName)) throw new FileError(modelDir, `tensor ${plan.hfName} is missing`);
      const info = store.info(plan.hfName);
      if (info.shape.join(',') !== plan.shape.join(',')) throw new FileError(info.file, `tensor ${plan.hfName} has shape [${info.shape.join(', ')}] but config.json implies [${plan.shape.join(', ')}]`);
      if (!['F32', 'F16', 'BF16'].includes(info.dtype)) throw new FileError(info.file, `tensor ${plan.hfName} is ${info.dtype}, not a float type`);
    }
    const unplaced = store.names().find((n) => !planned.has(n) && !(spec.tiedEmbeddings && n === 'lm_head.weight'));
    if (unplaced) throw new FileError(modelDir, `tensor ${unplaced} has no place in a llama GGUF`);
    await checkTarget(out, options.force ?? false);
    const plans = await withoutZeroBiases(allPlans, store);

    const slots = planSlots(plans.map((p) => ({ name: p.ggufName, shape: p.shape, type: tensorType(p, dtype) })));
    const header = encodeHeader([...hyperparameters(spec, config, dtype), ...tokenizer.entries], slots);
    const writer = await GgufFileWriter.create(out);
    try {
      options.progress?.start?.(plans.length);
      await writer.write(header);
      for (const [i, plan] of plans.entries()) {
        let values = await store.readFloat32(plan.hfName);
        if (plan.permuteHeads) values = permuteRows(values, plan.shape[0], plan.permuteHeads);
        await writer.writeTensor(slots[i], encodeTensor(values, slots[i].type));
        options.progress?.tensorDone?.(plan.ggufName);
      }
      await writer.commit();
    } finally {
      await writer.abort();
    }
    const tensorTypes: Record<string, number> = {};
    for (const slot of slots) tensorTypes[slot.type] = (tensorTypes[slot.type] ?? 0) + 1;
    const { heads, kvHeads, intermediate } = spec.layers[0];
    return {
      out,
      architecture: 'llama',
      dtype,
      tensors: slots.length,
      tensorTypes,
      layers: spec.numLayers,
      heads,
      kvHeads,
      headDim: spec.headDim,
      intermediate,
      vocab: spec.vocab,
      tiedEmbeddings: spec.tiedEmbeddings,
      tokenizer: tokenizer.description,
      bytes: (await fs.stat(out)).size,
    };
  } finally {
    await store.close();
  }
}
