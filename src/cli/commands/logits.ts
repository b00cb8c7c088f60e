/** `amp-prune logits`: one forward pass over a text; next-token candidates or the raw logits. */
import { writeFile } from 'node:fs/promises';
import { padBatch } from '../../engine/batch.js';
import { CausalLM } from '../../engine/causal-lm.js';
import { parseDevice } from '../../engine/session.js';
import { loadTokenizer } from '../../io/tokenizer.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { prepareModel } from '../model-arg.js';
import type { GlobalOptions } from '../program.js';

export async function logitsCommand(
  modelArg: string,
  opts: { text: string; top: number; out?: string; json?: boolean },
  global: GlobalOptions,
): Promise<void> {
  const model = await prepareModel(modelArg);
  const tokenizer = await loadTokenizer(model);
  const ids = tokenizer.encode(opts.text);
  const lm = await CausalLM.load(model, { device: parseDevice(global.device), threads: global.threads });
  try {
    const logits = await lm.logits(padBatch([ids]));
    const V = logits.dims[2];
    const last = logits.data.subarray((ids.length - 1) * V, ids.length * V);
    const top = topK(last, opts.top).map(({ id, logit }) => ({ id, token: tokenizer.decode([id]), logit }));
    if (opts.out) await writeFileAtomic(opts.out, new Uint8Array(logits.data.buffer, logits.data.byteOffset, logits.data.byteLength));
    if (opts.json) {
      console.log(JSON.stringify({ ids, dims: [ids.length, V], next: top, out: opts.out ?? null }));
      return;
    }
    console.log(`${ids.length} tokens; next-token candidates:`);
    for (const t of top) console.log(`  ${String(t.id).padStart(6)}  ${t.logit.toFixed(4).padStart(10)}  ${JSON.stringify(t.token)}`);
    if (opts.out) console.log(`logits [${ids.length}, ${V}] float32 written to ${opts.out}`);
  } finally {
    await lm.close();
  }
}

function topK(values: Float32Array, k: number): { id: number; logit: number }[] {
  return Array.from(values, (logit, id) => ({ id, logit }))
    .sort((a, b) => b.logit - a.logit || a.id - b.id)
    .slice(0, k);
}
