/**
 * Test-side bridge to stock llama.cpp through node-llama-cpp (prebuilt binaries, CPU): greedy
 * continuations and per-position next-token distributions of a GGUF file, for comparison with
 * our engine on the folder the file was exported from.
 */
import assert from 'node:assert/strict';
import { type Llama, type LlamaModel, type Token, getLlama } from 'node-llama-cpp';
import { greedyDecode } from '../../src/engine/decode.js';
import { padBatch } from '../../src/engine/batch.js';
import { CausalLM } from '../../src/engine/causal-lm.js';

// Two shared cores: llama.cpp's default thread count oversubscribes them (≈100x slower).
const THREADS = 2;

let llama: Promise<Llama> | undefined;

async function withModel<T>(file: string, use: (model: LlamaModel) => Promise<T>): Promise<T> {
  llama ??= getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
  const model = await (await llama).loadModel({ modelPath: file, gpuLayers: 0 });
  try {
    return await use(model);
  } finally {
    await model.dispose();
  }
}

export interface LlamaCppRun {
  /** Greedy continuation (temperature 0). */
  greedy: number[];
  /**
   * With `forced` fed as the continuation instead: at each position, llama.cpp's most likely next
   * token and its log-probability for the forced token.
   */
  top1: number[];
  logProbOfForced: number[];
}

export async function runLlamaCpp(file: string, prompt: readonly number[], steps: number, forced: readonly number[]): Promise<LlamaCppRun> {
  return withModel(file, async (model) => {
    // An F32 KV cache, so that an F32 file is compared with F32 arithmetic throughout (llama.cpp's default cache is F16).
    const context = await model.createContext({ contextSize: 128, threads: THREADS, batchSize: 128, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32', flashAttention: false });
    try {
      const greedy: number[] = [];
      const sequence = context.getSequence();
      for await (const token of sequence.evaluate([...prompt] as Token[], { temperature: 0 })) {
        greedy.push(token);
        if (greedy.length >= steps) break;
      }
      await sequence.clearHistory();
      // Teacher forcing in one pass: prompt + forced, with the next-token distribution after the
      // last prompt token and after each forced one. temperature 1 and no top-k/top-p/min-p cut:
      // the probabilities are the model's softmax.
      const sample = { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } };
      const input = [...prompt, ...forced.slice(0, -1)];
      const outputs = await sequence.controlledEvaluate(
        input.map((token, i) => (i >= prompt.length - 1 ? ([token as Token, { generateNext: sample }] as const) : (token as Token))) as never,
      );
      const top1: number[] = [];
      const logProbOfForced: number[] = [];
      forced.forEach((token, i) => {
        const probabilities = outputs[prompt.length - 1 + i]?.next.probabilities;
        if (!probabilities) throw new Error(`llama.cpp gave no distribution at forced position ${i}`);
        // The map is sorted most likely first.
        top1.push(probabilities.keys().next().value as number);
        logProbOfForced.push(Math.log(probabilities.get(token as Token) ?? 0));
      });
      return { greedy, top1, logProbOfForced };
    } finally {
      await context.dispose();
    }
  });
}

export interface OursRun {
  greedy: number[];
  /** log-softmax of our logits at each position of prompt + greedy, for the greedy token. */
  logProbOfGreedy: number[];
}

export async function runOurs(dir: string, prompt: readonly number[], steps: number): Promise<OursRun> {
  const lm = await CausalLM.load(dir, { device: 'cpu', threads: THREADS });
  try {
    const { tokens: greedy } = await greedyDecode(lm, prompt, steps);
    const ids = [...prompt, ...greedy];
    const logits = await lm.logits(padBatch([ids]));
    const V = logits.dims[2];
    const logProbOfGreedy = greedy.map((token, i) => {
      const row = logits.data.subarray((prompt.length - 1 + i) * V, (prompt.length + i) * V);
      let max = -Infinity;
      for (const x of row) max = Math.max(max, x);
      let sum = 0;
      for (const x of row) sum += Math.exp(x - max);
      return row[token] - max - Math.log(sum);
    });
    return { greedy, logProbOfGreedy };
  } finally {
    await lm.close();
  }
}

/**
 * llama.cpp's tokenization of `text` with the file's vocabulary, special tokens recognised, and
 * BOS/EOS added when the file asks for them (tokenizer.ggml.add_bos_token / add_eos_token), as
 * llama.cpp's own tools do.
 */
export async function tokenizeLlamaCpp(file: string, text: string): Promise<number[]> {
  return withModel(file, async (model) => {
    const ids: number[] = [...model.tokenize(text, true)];
    if (model.tokens.shouldPrependBosToken && model.tokens.bos !== null) ids.unshift(model.tokens.bos);
    if (model.tokens.shouldAppendEosToken && model.tokens.eos !== null) ids.push(model.tokens.eos);
    return ids;
  });
}

export async function disposeLlama(): Promise<void> {
  if (llama) await (await llama).dispose();
  llama = undefined;
}

/** Greedy tokens every llama.cpp agreement test compares. */
export const STEPS = 24;

export interface Agreement {
  /** Largest |Δ log p| of the teacher-forced tokens. */
  logProb: number;
  /** Positions (of STEPS) whose top-1 token must agree. */
  minTop1: number;
  /** Whether llama.cpp's own greedy continuation must equal ours. */
  greedyEqual: boolean;
}

/** What llama.cpp on an exported file must match our engine on its source folder to, per dtype (q4_0 is compared on its own 4-bit weights instead). */
export type ComparedDtype = 'f32' | 'f16' | 'q8_0';

export const AGREEMENT: Record<ComparedDtype, Agreement> = {
  f32: { logProb: 1e-4, minTop1: STEPS, greedyEqual: true },
  f16: { logProb: 0.02, minTop1: STEPS, greedyEqual: false },
  q8_0: { logProb: 0.25, minTop1: STEPS - 2, greedyEqual: false },
};

export function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  return Math.max(...a.map((x, i) => Math.abs(x - b[i])));
}

/**
 * llama.cpp on `file`, teacher-forced on our greedy continuation `ours`, within `bound`: top-1
 * agreement, |Δ log p|, and (where the bound asks) llama.cpp's own greedy tokens — up to its
 * first end-of-sequence, where its generation stops and ours runs on. Returns the diagnostic line.
 */
export async function assertAgreement(file: string, prompt: readonly number[], ours: OursRun, bound: Agreement): Promise<string> {
  const run = await runLlamaCpp(file, prompt, STEPS, ours.greedy);
  const top1 = run.top1.filter((token, i) => token === ours.greedy[i]).length;
  const diff = maxAbsDiff(run.logProbOfForced, ours.logProbOfGreedy);
  const greedyPrefix = run.greedy.findIndex((token, i) => token !== ours.greedy[i]);
  if (bound.greedyEqual) assert.deepEqual(run.greedy, ours.greedy.slice(0, Math.max(1, run.greedy.length)));
  assert.ok(top1 >= bound.minTop1, `top-1 agrees at ${top1}/${STEPS} positions`);
  assert.ok(diff <= bound.logProb, `max |Δ log p| ${diff} > ${bound.logProb}`);
  return `greedy equal for ${greedyPrefix === -1 ? STEPS : greedyPrefix}/${STEPS} tokens, top-1 ${top1}/${STEPS}, max |Δ log p| ${diff.toExponential(2)}`;
}
