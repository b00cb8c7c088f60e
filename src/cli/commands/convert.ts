/** `amp-prune convert MODEL.gguf --out DIR`: a LLaMA-family GGUF as a Hugging Face model folder. */
import { type ConvertProgress, convertGgufToHf } from '../../convert/gguf-to-hf.js';
import { terminalProgress } from '../progress.js';

export interface ConvertFlags {
  out: string;
  force?: boolean;
  json?: boolean;
}

function barProgress(): ConvertProgress & { done(): void } {
  const bar = terminalProgress();
  return {
    start: (total) => bar.phase('convert', total),
    tensorDone: (name) => bar.tick(name),
    done: () => bar.done(),
  };
}

export async function convertCommand(gguf: string, flags: ConvertFlags): Promise<void> {
  const progress = barProgress();
  let summary;
  try {
    summary = await convertGgufToHf(gguf, flags.out, { force: flags.force, progress });
  } finally {
    progress.done();
  }
  if (flags.json) {
    console.log(JSON.stringify(summary, null, 2));
    return;
  }
  const types = Object.entries(summary.sourceTypes)
    .sort((a, b) => b[1] - a[1])
    .map(([type, count]) => `${type} x${count}`)
    .join(', ');
  console.log(`wrote ${summary.outDir}`);
  console.log(`  tensors    ${summary.tensors} (${types}) -> ${summary.dtype}`);
  console.log(`  model      LlamaForCausalLM, ${summary.layers} layers, vocabulary ${summary.vocab}${summary.tiedEmbeddings ? ', tied embeddings' : ''}`);
  console.log(`  tokenizer  ${summary.tokenizer}`);
}
