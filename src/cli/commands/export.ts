/** `amp-prune export MODEL --format gguf --out OUT.gguf`: a LLaMA folder as one llama.cpp file. */
import { UserError } from '../../errors.js';
import { type GgufDtype, exportHfToGguf } from '../../export/gguf/hf-to-gguf.js';
import { prepareModel } from '../model-arg.js';
import { terminalProgress } from '../progress.js';

export interface ExportFlags {
  format: string;
  out: string;
  dtype: GgufDtype;
  force?: boolean;
  json?: boolean;
}

export async function exportCommand(model: string, flags: ExportFlags): Promise<void> {
  if (flags.format !== 'gguf') throw new UserError(`--format ${flags.format} is not supported (supported: gguf)`);
  const folder = await prepareModel(model);
  const bar = terminalProgress();
  let summary;
  try {
    summary = await exportHfToGguf(folder, flags.out, {
      dtype: flags.dtype,
      force: flags.force,
      progress: { start: (total) => bar.phase('export', total), tensorDone: (name) => bar.tick(name) },
    });
  } finally {
    bar.done();
  }
  if (flags.json) {
    console.log(JSON.stringify(summary, null, 2));
    return;
  }
  const types = Object.entries(summary.tensorTypes).map(([type, count]) => `${type} x${count}`).join(', ');
  console.log(`wrote ${summary.out} (${summary.bytes} bytes)`);
  console.log(`  tensors    ${summary.tensors} (${types})`);
  console.log(`  model      llama, ${summary.layers} layers, ${summary.heads} heads (${summary.kvHeads} kv) of ${summary.headDim}, ffn ${summary.intermediate}${summary.tiedEmbeddings ? ', tied embeddings' : ''}`);
  console.log(`  tokenizer  ${summary.tokenizer}`);
}
