/**
 * bench/llama-cpp-decode: llama.cpp's decode tokens/s on several GGUF files, all loaded side by side
 * and timed in interleaved rounds (one generation per file per round), so that a shared machine's
 * drift lands on every file alike: what bench/deploy's one-model-at-a-time runs cannot separate
 * from a file's own speed. A fixed 128-token prompt (any valid ids), then N greedy tokens on the
 * KV cache, 2 threads; the first round is a warm-up.
 *
 *   node --import tsx bench/llama-cpp-decode.ts [--new 128] [--rounds 12] [--threads 2] FILE.gguf ...
 */
import { parseArgs } from 'node:util';
import { type Token, getLlama } from 'node-llama-cpp';

const { values: args, positionals: files } = parseArgs({
  allowPositionals: true,
  options: {
    new: { type: 'string', default: '128' },
    rounds: { type: 'string', default: '12' },
    threads: { type: 'string', default: '2' },
  },
});
if (files.length === 0) throw new Error('give the GGUF files to compare');
const N = Number(args.new);
const threads = Number(args.threads);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
const prompt = Array.from({ length: 128 }, (_, i) => 100 + ((i * 37) % 5000));
const models = await Promise.all(files.map((f) => llama.loadModel({ modelPath: f, gpuLayers: 0 })));
const contexts = await Promise.all(models.map((m) => m.createContext({ contextSize: prompt.length + N + 16, threads, batchSize: prompt.length, flashAttention: false })));
const rates: number[][] = files.map(() => []);
for (let round = 0; round <= Number(args.rounds); round++) {
  for (const [i, context] of contexts.entries()) {
    const sequence = context.getSequence();
    const stamps: number[] = [];
    for await (const _ of sequence.evaluate(prompt as Token[], { temperature: 0, yieldEogToken: true })) {
      stamps.push(performance.now());
      if (stamps.length >= N) break;
    }
    sequence.dispose();
    if (round > 0) rates[i].push((stamps.length - 1) / ((stamps.at(-1)! - stamps[0]) / 1000));
  }
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const first = median(rates[0]);
for (const [i, f] of files.entries()) {
  const m = median(rates[i]);
  const spread = (Math.max(...rates[i]) - Math.min(...rates[i])) / m;
  console.log(`${f}: decode ${m.toFixed(1)} tok/s (spread ${(spread * 100).toFixed(0)}%), ${(m / first).toFixed(2)}x the first file`);
}
await Promise.all(contexts.map((c) => c.dispose()));
await Promise.all(models.map((m) => m.dispose()));
