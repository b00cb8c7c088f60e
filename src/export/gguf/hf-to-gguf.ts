/**
 * Hugging Face LLaMA or Qwen2 folder (dense, or pruned by amp-prune, with or without the
 * o_proj/down_proj biases recovery writes) -> one GGUF file that stock llama.cpp loads: architecture
 * "llama" or "qwen2" with the same widths in every layer, "deci" with per-layer widths (from
 * src/export/gguf/architectures.ts).
 *
 *   config.json ─▶ checks (family, widths, rope, biases) ─▶ tensor plan + tokenizer metadata
 *   ─▶ header (offsets known from shapes) ─▶ per tensor: read ─▶ permute q/k ─▶ encode ─▶ write ─▶ rename
 *
 * Every check runs before the output is created, so bad input leaves nothing behind.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { specFromConfig } from '../../arch/registry.js';
import type { ArchSpec } from '../../arch/spec.js';
import { FileError, UsageError } from '../../errors.js';
import { readModelConfig } from '../../io/checkpoint.js';
import { TensorStore } from '../../io/tensor-store.js';
import { EXPORTABLE_MODEL_TYPES, type GgufExportArchitecture, exportArchitecture } from './architectures.js';
import { GgufFileWriter, encodeHeader, planSlots } from './file-layout.js';
import { type GgufTensorPlan, llamaTensorPlan, permuteRows, unplaceableLayerWeight } from './llama-tensors.js';
import { type KvEntry, type KvValue, f32, str, u32 } from './metadata-writer.js';
import { type GgufTensorType, QUANT_BLOCK, encodeTensor } from './quantize.js';
import { tokenizerMetadata } from './tokenizer.js';

export const GGUF_DTYPES = ['f32', 'f16', 'q8_0', 'q4_0'] as const;
export type GgufDtype = (typeof GGUF_DTYPES)[number];

/** general.file_type (llama_ftype): ALL_F32, MOSTLY_F16, MOSTLY_Q8_0, MOSTLY_Q4_0. */
const FILE_TYPES: Record<GgufDtype, number> = { f32: 0, f16: 1, q8_0: 7, q4_0: 2 };

export interface GgufExportOptions {
  dtype?: GgufDtype;
  /** Replace an existing output file. */
  force?: boolean;
  progress?: { start?(total: number): void; tensorDone?(name: string): void };
}

export interface GgufExportSummary {
  out: string;
  /** llama.cpp architecture (general.architecture). */
  architecture: string;
  dtype: GgufDtype;
  tensors: number;
  /** ggml type -> how many tensors have it. */
  tensorTypes: Record<string, number>;
  layers: number;
  /** heads, kvHeads, intermediate: the widest layer's (all layers' when `uniform`), as config.json's stock fields. */
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  /** Same heads, KV heads and MLP width in every layer (else written as llama.cpp's deci, with per-layer lists). */
  uniform: boolean;
  widths: { heads: number; kvHeads: number; intermediate: number }[];
  vocab: number;
  tiedEmbeddings: boolean;
  tokenizer: string;
  bytes: number;
  /** What will make llama.cpp run this file slower than its size suggests (empty: nothing known). */
  advice: string[];
}

/** Width multiple llama.cpp's CPU matmuls want: bench/deploy measured prefill 0.9–1.0× dense at MLP 1147, 1.3–1.9× at 1152 and 960. */
export const LLAMA_CPP_WIDTH_MULTIPLE = 64;

export function llamaCppWidthAdvice(intermediates: readonly number[]): string[] {
  const unaligned = [...new Set(intermediates.filter((w) => w % LLAMA_CPP_WIDTH_MULTIPLE !== 0))];
  if (unaligned.length === 0) return [];
  const widths = unaligned.length === 1 ? `MLP width ${unaligned[0]} is` : `MLP widths ${unaligned.slice(0, 4).join(', ')}${unaligned.length > 4 ? ', ...' : ''} are`;
  return [`${widths} not a multiple of ${LLAMA_CPP_WIDTH_MULTIPLE}: llama.cpp's prefill gains little from pruning at such widths; prune with --align ${LLAMA_CPP_WIDTH_MULTIPLE} for llama.cpp`];
}

function hasUniformWidths(spec: ArchSpec): boolean {
  const [first] = spec.layers;
  return spec.layers.every((l) => l.heads === first.heads && l.kvHeads === first.kvHeads && l.intermediate === first.intermediate);
}

type Json = Record<string, unknown>;

/** Everything llama.cpp's llama-shaped graphs cannot express is refused here, by name. */
function checkExportable(spec: ArchSpec, config: Json, configPath: string): GgufExportArchitecture {
  const shape = {
    headsFillHidden: spec.layers.every((l) => l.heads * spec.headDim === spec.hidden),
    uniformWidths: hasUniformWidths(spec),
  };
  const arch = spec.family === 'llama' ? exportArchitecture(spec.modelType, shape) : undefined;
  if (!arch) {
    throw new FileError(configPath, `${spec.architecture} (model_type ${spec.modelType}) cannot be exported to GGUF (supported model types: ${EXPORTABLE_MODEL_TYPES.join(', ')})`);
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
  return arch;
}

/**
 * The refusals exportHfToGguf gives for a model with this config.json and `modelDir`'s tokenizer
 * files, without reading a weight: `prune --export gguf` asks them of the config it plans to
 * write, before pruning starts. The message names `configPath`.
 */
export async function checkGgufExportable(modelDir: string, config: Json, configPath: string): Promise<void> {
  const spec = specFromConfig(config, configPath);
  checkExportable(spec, config, configPath);
  await tokenizerMetadata(modelDir, spec.vocab, config);
}

function ropeTheta(config: Json): number {
  const params = (config.rope_parameters as Json | null) ?? {};
  const theta = params.rope_theta ?? config.rope_theta ?? 10000;
  return typeof theta === 'number' ? theta : 10000;
}

/** One value for every layer, or (deci) a list with each layer's own. */
function perLayer(spec: ArchSpec, uniform: boolean, width: (layer: ArchSpec['layers'][number]) => number): KvValue {
  // INT32 lists, as llama.cpp's converter writes them for deci (its loader takes INT32 or UINT32).
  return uniform ? u32(width(spec.layers[0])) : { type: 'array', item: 'i32', values: spec.layers.map(width) };
}

function hyperparameters(arch: string, spec: ArchSpec, config: Json, dtype: GgufDtype): KvEntry[] {
  const uniform = hasUniformWidths(spec);
  const contextLength = typeof config.max_position_embeddings === 'number' ? config.max_position_embeddings : 2048;
  const entries: KvEntry[] = [
    ['general.architecture', str(arch)],
    ['general.file_type', u32(FILE_TYPES[dtype])],
    [`${arch}.vocab_size`, u32(spec.vocab)],
    [`${arch}.context_length`, u32(contextLength)],
    [`${arch}.embedding_length`, u32(spec.hidden)],
    [`${arch}.block_count`, u32(spec.numLayers)],
    [`${arch}.feed_forward_length`, perLayer(spec, uniform, (l) => l.intermediate)],
    [`${arch}.attention.head_count`, perLayer(spec, uniform, (l) => l.heads)],
    [`${arch}.attention.head_count_kv`, perLayer(spec, uniform, (l) => l.kvHeads)],
    [`${arch}.rope.freq_base`, f32(ropeTheta(config))],
    [`${arch}.attention.layer_norm_rms_epsilon`, f32(spec.norm.eps)],
    [`${arch}.rope.dimension_count`, u32(spec.headDim)],
  ];
  // llama.cpp assumes head size embedding_length / head_count (layer 0's, with per-layer counts);
  // a pruned model keeps its original head size with fewer heads, so the size must be stated.
  if (spec.layers.some((l) => spec.headDim * l.heads !== spec.hidden)) {
    entries.push([`${arch}.attention.key_length`, u32(spec.headDim)], [`${arch}.attention.value_length`, u32(spec.headDim)]);
  }
  if (dtype === 'q8_0' || dtype === 'q4_0') entries.push(['general.quantization_version', u32(2)]);
  return entries;
}

/** Tensors that read or write the vocabulary: at q4_0 they stay Q8_0, as llama.cpp's own Q4_0 files keep them wider. */
const VOCABULARY_TENSORS = new Set(['token_embd.weight', 'output.weight']);

/**
 * Norms stay F32 as llama.cpp's converter keeps them; block types need rows of whole blocks, else
 * F16. A row of a single block stays F16 too: with attn_output Q8_0 at 32 inputs (2 heads of 16
 * left by pruning), node-llama-cpp 3.21.1's CPU runtime gave NaN log-probabilities at the first 7
 * of 24 positions (tests/export/gguf-qwen2.test.ts); F16 there, it matches our engine.
 */
function tensorType(plan: GgufTensorPlan, dtype: GgufDtype): GgufTensorType {
  if (plan.shape.length === 1 || dtype === 'f32') return 'F32';
  const rowLength = plan.shape[plan.shape.length - 1];
  if (dtype === 'f16' || rowLength % QUANT_BLOCK !== 0 || rowLength <= QUANT_BLOCK) return 'F16';
  return dtype === 'q4_0' && !VOCABULARY_TENSORS.has(plan.ggufName) ? 'Q4_0' : 'Q8_0';
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

/** Refuses an output path that is a folder, sits in no folder, or exists (unless `force`). */
export async function checkGgufTarget(out: string, force: boolean): Promise<void> {
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
  const arch = checkExportable(spec, config, configPath);
  const allPlans = llamaTensorPlan(spec, arch);
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
    if (unplaced) throw new FileError(modelDir, `tensor ${unplaced} has no place in a ${arch.name} GGUF`);
    await checkGgufTarget(out, options.force ?? false);
    const plans = await withoutZeroBiases(allPlans, store);

    const slots = planSlots(plans.map((p) => ({ name: p.ggufName, shape: p.shape, type: tensorType(p, dtype) })));
    const header = encodeHeader([...hyperparameters(arch.name, spec, config, dtype), ...tokenizer.entries], slots);
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
    const widths = spec.layers.map(({ heads, kvHeads, intermediate }) => ({ heads, kvHeads, intermediate }));
    return {
      out,
      architecture: arch.name,
      dtype,
      tensors: slots.length,
      tensorTypes,
      layers: spec.numLayers,
      heads: Math.max(...widths.map((w) => w.heads)),
      kvHeads: Math.max(...widths.map((w) => w.kvHeads)),
      headDim: spec.headDim,
      intermediate: Math.max(...widths.map((w) => w.intermediate)),
      uniform: hasUniformWidths(spec),
      widths,
      vocab: spec.vocab,
      tiedEmbeddings: spec.tiedEmbeddings,
      tokenizer: tokenizer.description,
      bytes: (await fs.stat(out)).size,
      advice: llamaCppWidthAdvice(widths.map((w) => w.intermediate)),
    };
  } finally {
    await store.close();
  }
}
