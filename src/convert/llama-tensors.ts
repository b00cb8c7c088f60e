/**
 * Which GGUF tensor becomes which transformers tensor (LlamaForCausalLM, Qwen2ForCausalLM,
 * Phi3ForCausalLM; PhiForCausalLM through phi2-tensors.ts), with the shape the metadata implies
 * for it. Every tensor of the file must be accounted for and every expected one present, with a
 * readable type, before anything is written. Optional projection biases (the architecture's
 * `optionalBiases`) set their group's config flag when any is present, and the group's missing
 * ones become zero tensors.
 */
import { FileError } from '../errors.js';
import type { FloatDtype } from '../io/dtype.js';
import { isFloatType, isSupportedType, unsupportedTypeError } from '../io/gguf/dequantize.js';
import type { GgufFile, GgufTensorInfo } from '../io/gguf/reader.js';
import type { BiasGroup } from './gguf-architectures.js';
import type { LlamaLayout } from './llama-layout.js';
import { phi2Plan } from './phi2-tensors.js';
import { type Expected, type TensorPlan, dimensionLabels, hfShape } from './tensor-plan.js';

export interface TensorMapping {
  /** undefined: a bias the config's flag requires that the file left out, written as zeros. */
  source: GgufTensorInfo | undefined;
  hfName: string;
  /** transformers shape, [out, in]: the GGUF dims reversed (or the slice's rows). */
  shape: readonly number[];
  /** Float sources keep their type; quantized ones become F32. */
  dtype: FloatDtype;
  /** Undo llama.cpp's rotary row interleave over this many heads (q: heads, k: kv heads). */
  unpermuteHeads?: number;
  /** Only these rows of the source (a fused attn_qkv split into q, k and v). */
  rows?: { start: number; count: number };
}

/**
 * llama.cpp's llama block: RMSNorm, attention, RMSNorm, gated MLP (llama, qwen2, phi3; deci with
 * each block at its own widths, so q/k rows are un-interleaved over that block's head counts).
 */
function llamaPlan(layout: LlamaLayout, tied: boolean): TensorPlan {
  const { hidden, headDim, vocab, arch } = layout;
  const { embedding, vocabulary } = dimensionLabels(layout);
  const expected: Expected[] = [];
  const groupOf = (gguf: string) => arch.optionalBiases.find((g) => g.projections.some((p) => gguf.endsWith(`.${p}.bias`)));
  const add = (gguf: string, hfName: string, shape: number[], from: string, unpermuteHeads?: number) =>
    expected.push({ gguf, hfName, shape, from, unpermuteHeads: arch.permutedQK ? unpermuteHeads : undefined, optionalIn: groupOf(gguf) });
  add('token_embd.weight', 'model.embed_tokens.weight', [vocab, hidden], `${vocabulary}, ${embedding}`);
  for (let i = 0; i < layout.layers; i++) {
    const { heads, kvHeads, intermediate } = layout.layerWidths[i];
    const { ffn, q, kv } = dimensionLabels(layout, i);
    const blk = `blk.${i}`;
    const hf = `model.layers.${i}`;
    add(`${blk}.attn_norm.weight`, `${hf}.input_layernorm.weight`, [hidden], embedding);
    if (arch.fused) {
      add(`${blk}.attn_qkv.weight`, `${hf}.self_attn.qkv_proj.weight`, [(heads + 2 * kvHeads) * headDim, hidden], `${q} + 2 × ${kv}, ${embedding}`);
    } else {
      add(`${blk}.attn_q.weight`, `${hf}.self_attn.q_proj.weight`, [heads * headDim, hidden], `${q}, ${embedding}`, heads);
      add(`${blk}.attn_k.weight`, `${hf}.self_attn.k_proj.weight`, [kvHeads * headDim, hidden], `${kv}, ${embedding}`, kvHeads);
      add(`${blk}.attn_v.weight`, `${hf}.self_attn.v_proj.weight`, [kvHeads * headDim, hidden], `${kv}, ${embedding}`);
    }
    if (arch.qkvBias || groupOf(`${blk}.attn_q.bias`)) {
      // A bias is one value per output row, so it follows its weight's row order (permuted too).
      add(`${blk}.attn_q.bias`, `${hf}.self_attn.q_proj.bias`, [heads * headDim], q, heads);
      add(`${blk}.attn_k.bias`, `${hf}.self_attn.k_proj.bias`, [kvHeads * headDim], kv, kvHeads);
      add(`${blk}.attn_v.bias`, `${hf}.self_attn.v_proj.bias`, [kvHeads * headDim], kv);
    }
    add(`${blk}.attn_output.weight`, `${hf}.self_attn.o_proj.weight`, [hidden, heads * headDim], `${embedding}, ${q}`);
    if (groupOf(`${blk}.attn_output.bias`)) add(`${blk}.attn_output.bias`, `${hf}.self_attn.o_proj.bias`, [hidden], embedding);
    add(`${blk}.ffn_norm.weight`, `${hf}.post_attention_layernorm.weight`, [hidden], embedding);
    if (arch.fused) {
      add(`${blk}.ffn_up.weight`, `${hf}.mlp.gate_up_proj.weight`, [2 * intermediate, hidden], `2 × ${ffn}, ${embedding}`);
    } else {
      add(`${blk}.ffn_gate.weight`, `${hf}.mlp.gate_proj.weight`, [intermediate, hidden], `${ffn}, ${embedding}`);
      add(`${blk}.ffn_up.weight`, `${hf}.mlp.up_proj.weight`, [intermediate, hidden], `${ffn}, ${embedding}`);
    }
    add(`${blk}.ffn_down.weight`, `${hf}.mlp.down_proj.weight`, [hidden, intermediate], `${embedding}, ${ffn}`);
    if (groupOf(`${blk}.ffn_gate.bias`)) {
      add(`${blk}.ffn_gate.bias`, `${hf}.mlp.gate_proj.bias`, [intermediate], ffn);
      add(`${blk}.ffn_up.bias`, `${hf}.mlp.up_proj.bias`, [intermediate], ffn);
      add(`${blk}.ffn_down.bias`, `${hf}.mlp.down_proj.bias`, [hidden], embedding);
    }
  }
  add('output_norm.weight', 'model.norm.weight', [hidden], embedding);
  if (!tied) add('output.weight', 'lm_head.weight', [vocab, hidden], `${vocabulary}, ${embedding}`);
  // the LLaMA-3 rope scaling, which gguf-to-hf.ts reads into rope_scaling
  return { expected, ignored: new Set(['rope_freqs.weight']) };
}

function outputDtype(info: GgufTensorInfo): FloatDtype {
  return isFloatType(info.type) ? info.type.name : 'F32';
}

/** GGUF dims as gguf tools print them (row length first). */
function ggufDims(shape: readonly number[]): string {
  return `[${[...shape].reverse().join(', ')}]`;
}

export interface GgufTensorMap {
  tensors: TensorMapping[];
  tied: boolean;
  /** Each optional bias group's config flag: true when the file has any bias of the group. */
  biasFlags: Record<string, boolean>;
}

/**
 * The HF tensors in checkpoint order (embeddings, layers, final norm, head). A llama-block file
 * without output.weight has tied embeddings, as llama.cpp writes only the one matrix then.
 */
export function mapGgufTensors(gguf: GgufFile, layout: LlamaLayout): GgufTensorMap {
  const { expected, ignored } =
    layout.arch.graph === 'phi2' ? phi2Plan(layout, (name) => gguf.tensor(name) !== undefined) : llamaPlan(layout, !gguf.tensor('output.weight'));
  const tied = !expected.some((want) => want.hfName === 'lm_head.weight');
  const accounted = new Set(expected.map((want) => want.gguf));
  for (const info of gguf.tensors) {
    if (!accounted.has(info.name) && !ignored.has(info.name)) {
      throw new FileError(gguf.path, `tensor ${info.name} has no place in a ${layout.architecture} model (this converter supports plain checkpoints only)`);
    }
  }
  const present = new Set<BiasGroup>();
  for (const want of expected) if (want.optionalIn && gguf.tensor(want.gguf)) present.add(want.optionalIn);
  const biasFlags = Object.fromEntries(layout.arch.optionalBiases.map((g) => [g.configKey, present.has(g)]));
  const tensors: TensorMapping[] = [];
  for (const want of expected) {
    const name = want.gguf;
    const info = gguf.tensor(name);
    if (want.optionalIn && !present.has(want.optionalIn)) continue;
    if (!info && want.optionalIn) {
      tensors.push({ source: undefined, hfName: want.hfName, shape: want.shape, dtype: 'F32' });
      continue;
    }
    if (!info) throw new FileError(gguf.path, `tensor ${name} is missing`);
    const matches = info.shape.length === want.shape.length && info.shape.every((d, i) => d === want.shape[i]);
    if (!matches) {
      throw new FileError(gguf.path, `tensor ${name} has dims ${ggufDims(info.shape)} but the metadata (${want.from}) implies ${ggufDims(want.shape)}`);
    }
    if (!isSupportedType(info.type)) throw unsupportedTypeError(gguf.path, name, info.type);
    tensors.push({ source: info, hfName: want.hfName, shape: hfShape(want), dtype: outputDtype(info), unpermuteHeads: want.unpermuteHeads, rows: want.rows });
  }
  return { tensors, tied, biasFlags };
}
