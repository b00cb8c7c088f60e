/**
 * bench/deploy: where the pruned model runs, and whether pruning buys speed there. Dense
 * SmolLM2-135M against AMP-pruned copies (20% and 30% of parameters removed, uniform widths,
 * default recovery) in each runtime a user deploys to:
 *
 *   llama.cpp-f16 / llama.cpp-q8_0   node-llama-cpp 3.21.1 (prebuilt CPU binaries) on `export --format gguf`
 *   transformers.js                  @huggingface/transformers (onnxruntime-node) on `export --format onnx` (fp32)
 *   amp-prune                        our engine on the folder (CausalLM, as `run` uses it)
 *
 * Per model and runtime: one prompt of P tokens, then N greedy tokens with the runtime's KV cache
 * (model load and one warm-up generation excluded, then one timed run): time to first token
 * (the prompt pass and the first token's choice), prefill tokens/s = P / that time, decode
 * tokens/s over the N − 1 later tokens. Beside each pruned row: its speedup over the dense model
 * in the same runtime and the FLOP ratio (dense / pruned matmul FLOPs per token, src/bench/flops.ts).
 * Goal: speedup ≥ 0.9 × FLOP ratio.
 *
 *   node --import tsx bench/deploy.ts [--threads 2] [--prompt 128] [--new 64] [--ratios 0.2,0.3] [--runtimes a,b] [--model DIR] [--align K] [--repeats 5]
 *
 * --align K prunes with `--align K` (kept MLP widths a multiple of K) and writes deploy-align<K>.json.
 *   node --import tsx bench/deploy.ts --quick     # smoke: fixtures/smollm pruned by 30%, P = 16, N = 8; writes nothing
 *
 * Pruned folders are kept in .cache/bench/deploy/amp-<ratio>/ (made once; the exports are
 * rewritten every run). The transformers.js side calls the model as its generate() does (the
 * forward with present.N.* fed back as past_key_values.N.*), without generate()'s logits processors.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AutoModelForCausalLM, DynamicCache, type PreTrainedModel, Tensor, env } from '@huggingface/transformers';
import { type Token, getLlama } from 'node-llama-cpp';
import { modelCost } from '../src/bench/flops.js';
import { CausalLM } from '../src/engine/causal-lm.js';
import { openCheckpoint } from '../src/engine/checkpoint.js';
import { generate } from '../src/engine/decode.js';
import { argmax } from '../src/engine/sampling.js';
import { AMP_PRUNE_FILE } from '../src/export/amp-prune-record.js';
import { exportHfToGguf } from '../src/export/gguf/hf-to-gguf.js';
import { exportHfToOnnx } from '../src/export/onnx/hf-to-onnx.js';
import { prune } from '../src/prune/prune.js';
import { FIXTURES, fixed, machine, printTable, summarize, writeResult } from './common.js';
import { REPO_ROOT, realModel } from './real-model.js';

env.allowRemoteModels = false;
env.allowLocalModels = true;

const RUNTIMES = ['llama.cpp-f16', 'llama.cpp-q8_0', 'transformers.js', 'amp-prune'] as const;
type Runtime = (typeof RUNTIMES)[number];

interface Timing {
  /** Seconds from the prompt's submission to the first new token. */
  ttft: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  /** New tokens produced (llama.cpp may stop at an end-of-generation token before N). */
  generated: number;
  /** (max − min) / median over the repeats, of prefill and of decode tokens/s. */
  prefillSpread: number;
  decodeSpread: number;
  repeats: number;
}

type Run = Pick<Timing, 'ttft' | 'prefillTokensPerSecond' | 'decodeTokensPerSecond' | 'generated'>;

/** Fixed valid ids: speed does not depend on which tokens they are, and every runtime gets the same. */
function promptIds(length: number, vocab: number): number[] {
  return Array.from({ length }, (_, t) => (t * 7919 + 13) % vocab);
}

function timing(promptLength: number, ttft: number, stepSeconds: number[]): Run {
  const decode = stepSeconds.reduce((a, b) => a + b, 0);
  return { ttft, prefillTokensPerSecond: promptLength / ttft, decodeTokensPerSecond: stepSeconds.length / decode, generated: stepSeconds.length + 1 };
}

/** One 128-token prefill lasts a tenth of a second: single runs wander by 2x, so each figure is a median of repeats. */
async function medianOf(repeats: number, once: () => Promise<Run>): Promise<Timing> {
  const runs: Run[] = [];
  for (let r = 0; r < repeats; r++) runs.push(await once());
  const ttft = summarize(runs.map((r) => r.ttft));
  const prefill = summarize(runs.map((r) => r.prefillTokensPerSecond));
  const decode = summarize(runs.map((r) => r.decodeTokensPerSecond));
  return {
    ttft: ttft.median,
    prefillTokensPerSecond: prefill.median,
    decodeTokensPerSecond: decode.median,
    generated: Math.min(...runs.map((r) => r.generated)),
    prefillSpread: prefill.spread,
    decodeSpread: decode.spread,
    repeats,
  };
}

async function timeEngine(dir: string, prompt: number[], newTokens: number, threads: number, repeats: number): Promise<Timing> {
  const lm = await CausalLM.load(dir, { device: 'cpu', threads });
  try {
    await generate(lm, prompt, { maxNewTokens: 2 });
    return await medianOf(repeats, async () => {
      const run = await generate(lm, prompt, { maxNewTokens: newTokens });
      return timing(prompt.length, run.prefillSeconds, run.stepSeconds);
    });
  } finally {
    await lm.close();
  }
}

let llama: ReturnType<typeof getLlama> | undefined;

async function timeLlamaCpp(file: string, prompt: number[], newTokens: number, threads: number, repeats: number): Promise<Timing> {
  llama ??= getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
  const model = await (await llama).loadModel({ modelPath: file, gpuLayers: 0 });
  try {
    const context = await model.createContext({ contextSize: prompt.length + newTokens + 16, threads, batchSize: prompt.length, flashAttention: false });
    try {
      const sequence = context.getSequence();
      const once = async (count: number): Promise<number[]> => {
        await sequence.clearHistory();
        const start = performance.now();
        const stamps: number[] = [];
        for await (const _ of sequence.evaluate(prompt as Token[], { temperature: 0, yieldEogToken: true })) {
          stamps.push((performance.now() - start) / 1000);
          if (stamps.length >= count) break;
        }
        return stamps;
      };
      await once(2);
      return await medianOf(repeats, async () => {
        const stamps = await once(newTokens);
        return timing(prompt.length, stamps[0], stamps.slice(1).map((t, i) => t - stamps[i]));
      });
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

async function timeTransformersJs(dir: string, prompt: number[], newTokens: number, threads: number, repeats: number): Promise<Timing> {
  const model = (await AutoModelForCausalLM.from_pretrained(dir, {
    dtype: 'fp32',
    device: 'cpu',
    local_files_only: true,
    session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
  })) as PreTrainedModel;
  const forward = (inputs: Record<string, unknown>) => (model as unknown as (x: Record<string, unknown>) => Promise<Record<string, Tensor>>)(inputs);
  const row = (ids: readonly number[]) => new Tensor('int64', BigInt64Array.from(ids, (x) => BigInt(x)), [1, ids.length]);
  const ones = (n: number) => row(new Array<number>(n).fill(1));
  const nextToken = (logits: Tensor) => {
    const data = logits.data as Float32Array;
    const vocab = logits.dims[logits.dims.length - 1];
    return argmax(data.subarray(data.length - vocab));
  };
  const cacheOf = (out: Record<string, Tensor>) =>
    new DynamicCache(Object.fromEntries(Object.entries(out).filter(([k]) => k.startsWith('present.')).map(([k, v]) => [k.replace('present', 'past_key_values'), v])));
  const once = async (count: number): Promise<{ ttft: number; steps: number[] }> => {
    let start = performance.now();
    let out = await forward({ input_ids: row(prompt), attention_mask: ones(prompt.length) });
    let token = nextToken(out.logits);
    const ttft = (performance.now() - start) / 1000;
    const steps: number[] = [];
    for (let length = prompt.length + 1; steps.length < count - 1; length++) {
      start = performance.now();
      out = await forward({ input_ids: row([token]), attention_mask: ones(length), past_key_values: cacheOf(out) });
      token = nextToken(out.logits);
      steps.push((performance.now() - start) / 1000);
    }
    return { ttft, steps };
  };
  try {
    await once(2);
    return await medianOf(repeats, async () => {
      const run = await once(newTokens);
      return timing(prompt.length, run.ttft, run.steps);
    });
  } finally {
    await model.dispose();
  }
}

const prunedName = (ratio: number, align: number) => `amp-${Math.round(ratio * 100)}${align > 1 ? `-align${align}` : ''}`;

async function prunedModel(base: string, ratio: number, root: string, threads: number, align: number): Promise<string> {
  const dir = join(root, prunedName(ratio, align));
  if (existsSync(join(dir, AMP_PRUNE_FILE))) return dir;
  console.error(`pruning ${Math.round(ratio * 100)}% ...`);
  await prune({ model: base, out: dir, ratio, method: 'amp', allocation: 'uniform', gqa: 'group', align, skipLayers: [], seed: 0, dryRun: false, force: true, session: { threads } });
  return dir;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      threads: { type: 'string', default: '2' },
      prompt: { type: 'string' },
      new: { type: 'string' },
      ratios: { type: 'string' },
      runtimes: { type: 'string' },
      model: { type: 'string' },
      align: { type: 'string', default: '1' },
      repeats: { type: 'string' },
    },
  });
  const quick = values.quick;
  const align = Number(values.align);
  const repeats = Number(values.repeats ?? (quick ? 1 : 5));
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw new Error('--repeats must be a whole number >= 1');
  const threads = Number(values.threads);
  const promptLength = Number(values.prompt ?? (quick ? 16 : 128));
  const newTokens = Number(values.new ?? (quick ? 8 : 64));
  const ratios = (values.ratios ?? (quick ? '0.3' : '0.2,0.3')).split(',').map(Number);
  const runtimes = (values.runtimes?.split(',') ?? [...RUNTIMES]) as Runtime[];
  for (const r of runtimes) if (!RUNTIMES.includes(r)) throw new Error(`--runtimes: unknown ${r} (choose ${RUNTIMES.join(', ')})`);
  if (!(newTokens >= 2)) throw new Error('--new must be at least 2 (decode speed needs a token after the first)');
  const host = await machine(threads);
  const base = values.model ?? (quick ? join(FIXTURES, 'smollm') : await realModel());
  const root = quick ? await mkdtemp(join(os.tmpdir(), 'amp-bench-deploy-')) : join(REPO_ROOT, '.cache', 'bench', 'deploy');
  await mkdir(root, { recursive: true });
  try {
    const models = [{ name: 'dense', dir: base }];
    for (const ratio of ratios) models.push({ name: prunedName(ratio, align), dir: await prunedModel(base, ratio, root, threads, align) });

    const rows: { model: string; runtime: Runtime; flopsPerToken: number; parameters: number; timing: Timing }[] = [];
    for (const { name, dir } of models) {
      const opened = await openCheckpoint(dir);
      await opened.store.close();
      const cost = modelCost(opened.spec);
      const prompt = promptIds(promptLength, opened.spec.vocab);
      for (const runtime of runtimes) {
        console.error(`${name} in ${runtime} ...`);
        let result: Timing;
        if (runtime === 'amp-prune') {
          result = await timeEngine(dir, prompt, newTokens, threads, repeats);
        } else if (runtime === 'transformers.js') {
          const onnx = join(root, `${name}-onnx`);
          await exportHfToOnnx(dir, onnx, { dtype: 'fp32', force: true });
          result = await timeTransformersJs(onnx, prompt, newTokens, threads, repeats);
        } else {
          const dtype = runtime === 'llama.cpp-f16' ? 'f16' : 'q8_0';
          const file = join(root, `${name}-${dtype}.gguf`);
          await exportHfToGguf(dir, file, { dtype, force: true });
          result = await timeLlamaCpp(file, prompt, newTokens, threads, repeats);
        }
        rows.push({ model: name, runtime, flopsPerToken: cost.flopsPerToken, parameters: cost.parameters, timing: result });
      }
    }

    const table: string[][] = [['runtime', 'model', 'prefill tok/s', 'spread', 'TTFT ms', 'decode tok/s', 'spread', 'prefill speedup', 'decode speedup', 'FLOP ratio', 'goal (0.9×)']];
    const summary = rows.map((row) => {
      const dense = rows.find((r) => r.model === 'dense' && r.runtime === row.runtime)!;
      const flopRatio = dense.flopsPerToken / row.flopsPerToken;
      const prefillSpeedup = row.timing.prefillTokensPerSecond / dense.timing.prefillTokensPerSecond;
      const decodeSpeedup = row.timing.decodeTokensPerSecond / dense.timing.decodeTokensPerSecond;
      const isDense = row.model === 'dense';
      table.push([
        row.runtime,
        row.model,
        fixed(row.timing.prefillTokensPerSecond, 1),
        `${fixed(row.timing.prefillSpread * 100, 0)}%`,
        fixed(row.timing.ttft * 1000, 1),
        fixed(row.timing.decodeTokensPerSecond, 1),
        `${fixed(row.timing.decodeSpread * 100, 0)}%`,
        isDense ? '' : `${fixed(prefillSpeedup)}x`,
        isDense ? '' : `${fixed(decodeSpeedup)}x`,
        isDense ? '' : fixed(flopRatio),
        isDense ? '' : fixed(0.9 * flopRatio),
      ]);
      return { ...row, flop_ratio: flopRatio, prefill_speedup: prefillSpeedup, decode_speedup: decodeSpeedup };
    });
    printTable(table);
    if (quick) return;
    const file = await writeResult(align > 1 ? `deploy-align${align}` : 'deploy', { ...host, settings: { model: base, prompt_tokens: promptLength, new_tokens: newTokens, ratios, runtimes, align, repeats }, rows: summary });
    console.error(`wrote ${file}`);
  } finally {
    if (llama) await (await llama).dispose();
    if (quick) await rm(root, { recursive: true, force: true });
  }
}

await main();
