/** `amp-prune demo`: the whole job on the built-in default model, then where everything is. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDemo } from '../../demo/demo.js';
import type { GlobalOptions } from '../program.js';

/** ../shared/data beside this checkout, where the project's evaluation data lives. */
function defaultDataDir(): string {
  return path.resolve(fileURLToPath(new URL('../../../../shared/data', import.meta.url)));
}

export async function demoCommand(flags: { work: string; dataDir?: string; ratio: number; limit: number }, global: GlobalOptions): Promise<void> {
  const started = performance.now();
  const out = await runDemo({
    work: flags.work,
    dataDir: flags.dataDir ?? defaultDataDir(),
    ratio: flags.ratio,
    limit: flags.limit,
    threads: global.threads,
    log: (line) => console.error(`[demo] ${line}`),
  });
  const s = out.summary;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  console.log(`
amp-prune demo finished in ${((performance.now() - started) / 60000).toFixed(1)} min

  parameters        ${s.denseParams.toLocaleString('en-US')} -> ${s.prunedParams.toLocaleString('en-US')} (${pct(1 - s.prunedParams / s.denseParams)} removed)
  WikiText-2 ppl    ${s.ppl[0].toFixed(2)} -> ${s.ppl[1].toFixed(2)} (token perplexity, 1024-token windows; AMP + least-squares repair, no fine-tuning)
  zero-shot avg     ${pct(s.average[0])} -> ${pct(s.average[1])}
  speed (pruned/dense)  prefill x${s.prefillSpeedup.toFixed(2)}, decode x${s.decodeSpeedup.toFixed(2)}

  "${out.continuation.prompt} …" (greedy)
    dense           ${out.continuation.dense}
    pruned          ${out.continuation.pruned}

  dense model       ${out.dense}
  pruned model      ${out.pruned}   (loads in transformers: AutoModelForCausalLM.from_pretrained)
  evaluations       ${out.denseEval}
                    ${out.prunedEval}
  speed             ${out.speed}
  report            ${out.report}`);
}
