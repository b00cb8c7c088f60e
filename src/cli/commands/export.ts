/**
 * `amp-prune export MODEL --format gguf --out OUT.gguf`: a LLaMA folder as one llama.cpp file.
 * `amp-prune export MODEL --format onnx --out DIR`: a transformers.js / onnxruntime folder.
 */
import { UsageError } from '../../errors.js';
import { GGUF_DTYPES, type GgufDtype, exportHfToGguf } from '../../export/gguf/hf-to-gguf.js';
import { exportHfToOnnx } from '../../export/onnx/hf-to-onnx.js';
import { ONNX_DTYPES, type OnnxDtype } from '../../export/onnx/weights.js';
import { prepareModel } from '../model-arg.js';
import { terminalProgress } from '../progress.js';

export const EXPORT_FORMATS = ['gguf', 'onnx'] as const;

export interface ExportFlags {
  format: string;
  out: string;
  /** Default per format: f32 (gguf), fp32 (onnx). */
  dtype?: string;
  force?: boolean;
  json?: boolean;
}

export async function exportCommand(model: string, flags: ExportFlags): Promise<void> {
  if (flags.format === 'onnx') return exportOnnx(model, flags);
  if (flags.format !== 'gguf') throw new UsageError(`--format ${flags.format} is not supported (supported: ${EXPORT_FORMATS.join(', ')})`);
  const dtype = flags.dtype ?? 'f32';
  if (!(GGUF_DTYPES as readonly string[]).includes(dtype)) throw new UsageError(`--dtype ${dtype} is not a GGUF type (choose ${GGUF_DTYPES.join(', ')})`);
  const folder = await prepareModel(model);
  const summary = await withTensorProgress((progress) => exportHfToGguf(folder, flags.out, { dtype: dtype as GgufDtype, force: flags.force, progress }));
  if (flags.json) {
    console.log(JSON.stringify(summary, null, 2));
    return;
  }
  const types = Object.entries(summary.tensorTypes).map(([type, count]) => `${type} x${count}`).join(', ');
  console.log(`wrote ${summary.out} (${summary.bytes} bytes)`);
  console.log(`  tensors    ${summary.tensors} (${types})`);
  console.log(`  model      ${summary.architecture}, ${summary.layers} layers, ${summary.uniform ? `${summary.heads} heads (${summary.kvHeads} kv) of ${summary.headDim}, ffn ${summary.intermediate}` : `per-layer widths (heads of ${summary.headDim})`}${summary.tiedEmbeddings ? ', tied embeddings' : ''}`);
  console.log(`  tokenizer  ${summary.tokenizer}`);
  for (const line of summary.advice) console.log(`  note       ${line}`);
}

async function exportOnnx(model: string, flags: ExportFlags): Promise<void> {
  const dtype = flags.dtype ?? 'fp32';
  if (!(ONNX_DTYPES as readonly string[]).includes(dtype)) throw new UsageError(`--dtype ${dtype} is not an ONNX export type (choose ${ONNX_DTYPES.join(', ')})`);
  const folder = await prepareModel(model);
  const summary = await withTensorProgress((progress) => exportHfToOnnx(folder, flags.out, { dtype: dtype as OnnxDtype, force: flags.force, progress }));
  if (flags.json) {
    console.log(JSON.stringify(summary, null, 2));
    return;
  }
  const types = Object.entries(summary.tensorTypes).map(([type, count]) => `${type} x${count}`).join(', ');
  const w = summary.widths[0];
  const widths = summary.uniform ? `${w.heads} heads (${w.kvHeads} kv), ffn ${w.intermediate} in every layer` : 'per-layer widths';
  console.log(`wrote ${summary.out} (${summary.bytes} bytes; graph ${summary.model}, ${dtype})`);
  console.log(`  model      ${summary.architecture}, ${summary.layers} layers, ${widths}`);
  console.log(`  weights    ${types} (external data)`);
  console.log(`  files      ${summary.files.join(', ')}`);
}

/** Runs an export with a terminal progress bar ticking once per tensor written. */
async function withTensorProgress<T>(run: (progress: { start: (total: number) => void; tensorDone: (name: string) => void }) => Promise<T>): Promise<T> {
  const bar = terminalProgress();
  try {
    return await run({ start: (total) => bar.phase('export', total), tensorDone: (name) => bar.tick(name) });
  } finally {
    bar.done();
  }
}
