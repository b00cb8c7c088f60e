/**
 * GGUF (LLaMA family) -> Hugging Face model folder: config.json, model.safetensors,
 * tokenizer.json, tokenizer_config.json, generation_config.json.
 *
 *   open + check everything (metadata, tensor names/shapes/types, tokenizer) ─▶ CheckpointWriter
 *   ─▶ per tensor: read bytes ─▶ dequantize ─▶ undo q/k permutation ─▶ write ─▶ JSON files ─▶ commit
 *
 * All checks run before the output folder is created, and the writer is atomic, so an error
 * leaves nothing behind. One tensor is in memory at a time.
 */
import { CheckpointWriter } from '../export/checkpoint-writer.js';
import { GgufFile } from '../io/gguf/reader.js';
import { readGgufVocab } from './gguf-vocab.js';
import { type TorchDtype, llamaConfig, llamaLayout } from './llama-layout.js';
import { type TensorMapping, mapLlamaTensors } from './llama-tensors.js';
import { hfTensorBytes } from './tensor-bytes.js';
import { buildTokenizerFiles } from './tokenizer-files.js';

export interface ConvertProgress {
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

export async function convertGgufToHf(ggufPath: string, outDir: string, options: ConvertOptions = {}): Promise<ConvertSummary> {
  const gguf = await GgufFile.open(ggufPath);
  try {
    const vocab = readGgufVocab(gguf.metadata);
    const layout = llamaLayout(gguf.metadata, vocab.tokens.length);
    const { tensors, tied } = mapLlamaTensors(gguf, layout);
    const tokenizer = buildTokenizerFiles(vocab, gguf.path);
    const dtype = modelDtype(tensors);
    const special = { bos: vocab.bosId, eos: vocab.eosId, pad: vocab.padId };
    const config = llamaConfig(layout, { tied, dtype, special });

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
    for (const t of tensors) sourceTypes[t.source.type.name] = (sourceTypes[t.source.type.name] ?? 0) + 1;
    return { outDir: writer.outDir, tensors: tensors.length, sourceTypes, dtype, layers: layout.layers, vocab: layout.vocab, tiedEmbeddings: tied, tokenizer: tokenizer.description };
  } finally {
    await gguf.close();
  }
}
