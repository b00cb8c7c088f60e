/**
 * GGUF (llama, qwen2, phi3, phi2, deci) -> Hugging Face model folder: config.json, model.safetensors,
 * tokenizer.json, tokenizer_config.json, generation_config.json.
 *
 *   open + check everything (metadata, tensor names/shapes/types, tokenizer) ─▶ CheckpointWriter
 *   ─▶ per tensor: read bytes ─▶ dequantize ─▶ undo q/k permutation (llama) or split a fused
 *      attn_qkv (old phi2 files) ─▶ write ─▶ JSON files ─▶ commit
 *
 * A llama file's projection biases (llama.cpp adds any it finds) set attention_bias / mlp_bias, with
 * zeros for the ones of the group the file left out, as a stock LlamaConfig needs all of them.
 *
 * All checks run before the output folder is created, and the writer is atomic, so an error
 * leaves nothing behind. One tensor is in memory at a time.
 */
import { FileError } from '../errors.js';
import { elementSize } from '../io/dtype.js';
import { CheckpointWriter } from '../export/checkpoint-writer.js';
import { dequantize, isSupportedType, unsupportedTypeError } from '../io/gguf/dequantize.js';
import { GgufFile } from '../io/gguf/reader.js';
import { readGgufVocab } from './gguf-vocab.js';
import { type LlamaLayout, type TorchDtype, llamaConfig, llamaLayout } from './llama-layout.js';
import { type TensorMapping, mapGgufTensors } from './llama-tensors.js';
import { llama3RopeScaling } from './rope-freqs.js';
import { hfTensorBytes } from './tensor-bytes.js';
import { buildTokenizerFiles } from './tokenizer-files.js';

export interface ConvertProgress {
  /** Called once everything is checked, before the output folder is created. */
  planned?(plan: { dtype: TorchDtype; bytes: number; outDir: string }): void;
  /** Called before the first tensor is written. */
  start?(totalTensors: number): void;
  /** Called after each tensor is written. */
  tensorDone?(hfName: string): void;
}

export interface ConvertOptions {
  /** Replace an existing non-empty output folder. */
  force?: boolean;
  progress?: ConvertProgress;
}

export interface ConvertSummary {
  outDir: string;
  tensors: number;
  /** Source ggml type -> how many tensors had it. */
  sourceTypes: Record<string, number>;
  dtype: TorchDtype;
  layers: number;
  vocab: number;
  tiedEmbeddings: boolean;
  tokenizer: string;
}

const TORCH_DTYPES = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' } as const;

/** F16 or BF16 when every matrix is stored so (norms are F32 in any GGUF); float32 otherwise. */
function modelDtype(tensors: readonly TensorMapping[]): TorchDtype {
  const matrixTypes = new Set(tensors.filter((t) => t.shape.length > 1).map((t) => t.dtype));
  const [only] = matrixTypes;
  return matrixTypes.size === 1 && only !== undefined ? TORCH_DTYPES[only] : 'float32';
}

/** The layout with the LLaMA-3 rope scaling that a rope_freqs.weight tensor encodes, if any. */
async function withRopeFreqs(gguf: GgufFile, layout: LlamaLayout): Promise<LlamaLayout> {
  const info = gguf.tensor('rope_freqs.weight');
  if (!info) return layout;
  if (!isSupportedType(info.type)) throw unsupportedTypeError(gguf.path, info.name, info.type);
  const divisors = dequantize(await gguf.readBytes(info), info.type, gguf.path, info.name);
  const scaling = llama3RopeScaling(divisors, layout.ropeTheta, layout.headDim, gguf.path);
  if (!scaling) return layout;
  if (layout.ropeScaling) throw new FileError(gguf.path, 'states rope scaling twice (llama.rope.scaling.* and rope_freqs.weight)');
  return { ...layout, ropeScaling: scaling };
}

export async function convertGgufToHf(ggufPath: string, outDir: string, options: ConvertOptions = {}): Promise<ConvertSummary> {
  const gguf = await GgufFile.open(ggufPath);
  try {
    const vocab = readGgufVocab(gguf.metadata);
    const stated = llamaLayout(gguf.metadata, vocab.tokens.length);
    const { tensors, tied, biasFlags } = mapGgufTensors(gguf, stated);
    const layout = await withRopeFreqs(gguf, stated);
    const tokenizer = buildTokenizerFiles(vocab, gguf.path, layout.architecture);
    const dtype = modelDtype(tensors);
    const special = { bos: vocab.bosId, eos: vocab.eosId, pad: vocab.padId };
    const config = llamaConfig(layout, { tied, dtype, special, biasFlags });

    const bytes = tensors.reduce((sum, t) => sum + t.shape.reduce((n, d) => n * d, 1) * elementSize(t.dtype), 0);
    options.progress?.planned?.({ dtype, bytes, outDir });
    const writer = await CheckpointWriter.create(outDir, {
      tensors: tensors.map((t) => ({ name: t.hfName, dtype: t.dtype, shape: t.shape })),
      force: options.force,
    });
    try {
      options.progress?.start?.(tensors.length);
      for (const tensor of tensors) {
        await writer.write(tensor.hfName, await hfTensorBytes(gguf, tensor));
        options.progress?.tensorDone?.(tensor.hfName);
      }
      await writer.writeJson('config.json', config);
      await writer.writeJson('generation_config.json', { _from_model_config: true, bos_token_id: special.bos, eos_token_id: special.eos, pad_token_id: special.pad });
      await writer.writeJson('tokenizer.json', tokenizer.tokenizerJson);
      await writer.writeJson('tokenizer_config.json', tokenizer.tokenizerConfig);
      await writer.commit();
    } finally {
      await writer.abort(); // a no-op after commit
    }
    const sourceTypes: Record<string, number> = {};
    for (const { source } of tensors) if (source) sourceTypes[source.type.name] = (sourceTypes[source.type.name] ?? 0) + 1;
    return { outDir: writer.outDir, tensors: tensors.length, sourceTypes, dtype, layers: layout.layers, vocab: layout.vocab, tiedEmbeddings: tied, tokenizer: tokenizer.description };
  } finally {
    await gguf.close();
  }
}
