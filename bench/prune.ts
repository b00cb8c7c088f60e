/**
 * bench/prune: `prune` wall time, scoring-pass throughput and peak memory, on SmolLM2-135M and on
 * a random LLaMA with Llama-3.2-1B's layer shape cut to 8 layers (2.4 GB float32; built once with
 * bench/python/make_random_llama.py): its big layers make the streaming claim measurable.
 * Every run: AMP at 30%, uniform, the first 50 Alpaca prompts, one prompt per sequence.
 *
 *   node --import tsx bench/prune.ts [--quick] [--threads N] [--repeats R] [--models smollm2,llama1b]
 *
 * Per model:
 * - the CLI as a child process under /usr/bin/time: wall seconds (spawn to exit) and peak RSS;
 *   `inspect` on the same model gives the process floor (node + tsx + onnxruntime loaded);
 * - prune() in-process with a progress hook, for the phases: setup (open, tokenize), scoring
 *   (streaming the layers' weights from disk + forwards + statistics), plan, writing;
 * - scoring throughput: calibration tokens / scoring seconds, and useful GFLOP/s (formula in
 *   scoringFlops) against onnxruntime's plain MatMul peak measured in the same run.
 */
import { existsSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { specFromConfig } from '../src/arch/registry.js';
import type { ArchSpec } from '../src/arch/spec.js';
import { buildCalibration, loadCalibrationCorpus } from '../src/calib/index.js';
import { readModelConfig } from '../src/io/checkpoint.js';
import { loadTokenizer } from '../src/io/tokenizer.js';
import { batchSequences } from '../src/prune/score-pass.js';
import { prune } from '../src/prune/prune.js';
import type { PruneProgress } from '../src/prune/request.js';
import { ALPACA, FIXTURES, fixed, isMain, layerMatmulParams, machine, matmulPeak, printTable, runCli, runPythonJson, summarize, writeResult } from './common.js';
import type { Summary } from './common.js';
import { realModel, REPO_ROOT } from './real-model.js';

const WORK = join(REPO_ROOT, '.cache', 'bench', 'prune');
const SAMPLES = 50;
const RATIO = 0.3;
const MiB = 2 ** 20;

/**
 * Useful FLOPs of the scoring pass over prompts of the given lengths (padding not counted):
 *   Σ_prompts Σ_layers [ 2·P_matmul·T + 4·T²·H·d_h + 2·T·H·d_h·d ]
 * the last term being AMP's head-contribution tap (every head's output times its o_proj columns).
 * No lm_head: scoring stops at the last layer.
 */
export function scoringFlops(spec: ArchSpec, lengths: readonly number[]): number {
  let flops = 0;
  for (const T of lengths) {
    for (let i = 0; i < spec.numLayers; i++) {
      const { heads } = spec.layers[i];
      flops += 2 * layerMatmulParams(spec, i) * T + 4 * T * T * heads * spec.headDim + 2 * T * heads * spec.headDim * spec.hidden;
    }
  }
  return flops;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) if (name.endsWith('.safetensors')) total += (await stat(join(dir, name))).size;
  return total;
}

/** Builds a random 1B-shaped LLaMA of `layers` layers once (under a minute). */
async function randomLlama(layers: number, threads: number): Promise<string> {
  const dir = join(WORK, `llama-1b-shape-${layers}l`);
  if (existsSync(join(dir, 'config.json'))) return dir;
  console.error(`building the random 1B-shaped LLaMA with ${layers} layers (once)...`);
  await runPythonJson<number>('make_random_llama.py', ['--out', dir, '--layers', String(layers), '--tokenizer-from', await realModel()], threads);
  return dir;
}

/** A model by bench name: smollm2 (the real one), llama1b-<L>l (random, 1B-shaped), or a fixture. */
async function modelDir(name: string, threads: number): Promise<string> {
  if (name === 'smollm2') return realModel();
  const random = /^llama1b-(\d+)l$/.exec(name);
  return random ? randomLlama(Number(random[1]), threads) : join(FIXTURES, name);
}

/** Times prune()'s phases through its progress hook. */
function phaseClock(): { progress: PruneProgress; marks: Map<string, number> } {
  const marks = new Map<string, number>();
  let current = '';
  return {
    marks,
    progress: {
      phase(name) {
        current = name;
        marks.set(`${name}:start`, performance.now());
      },
      tick() {},
      done() {
        marks.set(`${current}:end`, performance.now());
      },
    },
  };
}

interface Phases {
  total: number;
  setup: number;
  scoring: number;
  plan: number;
  writing: number;
}

async function inProcessPrune(model: string, out: string, threads: number, samples: number): Promise<Phases> {
  const { progress, marks } = phaseClock();
  const start = performance.now();
  await prune(
    { model, out, ratio: RATIO, method: 'amp', allocation: 'uniform', gqa: 'group', align: 1, skipLayers: [], calib: ALPACA, calibSamples: samples, calibMode: 'prompts', seed: 0, dryRun: false, force: true, session: { threads } },
    progress,
  );
  const end = performance.now();
  const m = (k: string) => marks.get(k)!;
  const s = (ms: number) => ms / 1000;
  return { total: s(end - start), setup: s(m('scoring:start') - start), scoring: s(m('scoring:end') - m('scoring:start')), plan: s(m('writing:start') - m('scoring:end')), writing: s(m('writing:end') - m('writing:start')) };
}

interface ModelResult {
  name: string;
  model: string;
  architecture: string;
  layers: number;
  model_mib: number;
  largest_layer_f32_mib: number;
  globals_f32_mib: number;
  calibration: { prompts: number; tokens: number; padded_tokens: number; batches: number };
  cli: { seconds: Summary; peak_rss_mib: Summary; floor_rss_mib: number };
  phases: Record<keyof Phases, Summary>;
  scoring: { tokens_per_s: number; gflop: number; gflops: number; fraction_of_matmul_peak: number };
  rss_over_model: number;
  /** Peak RSS − (floor + globals + largest layer): activations, onnxruntime's arena, GC slack. */
  rest_mib: number;
}

async function benchModel(name: string, model: string, threads: number, repeats: number, samples: number, peak: number): Promise<ModelResult> {
  const spec = specFromConfig(await readModelConfig(model), join(model, 'config.json'));
  const corpus = await loadCalibrationCorpus(ALPACA);
  const { sequences } = buildCalibration(corpus, await loadTokenizer(model), { samples, seed: 0, mode: 'prompts' });
  const lengths = sequences.map((s) => s.length);
  const batches = batchSequences(sequences, spec);
  const out = join(REPO_ROOT, 'scratch', 'bench', `prune-${name}`);
  const cliArgs = ['prune', '--model', model, '--out', out, '--ratio', String(RATIO), '--calib', ALPACA, '--calib-samples', String(samples), '--calib-mode', 'prompts', '--force', '--json'];

  await runCli(cliArgs, threads); // warm-up: page cache and tsx's compile cache
  const cli = [];
  for (let i = 0; i < repeats; i++) cli.push(await runCli(cliArgs, threads));
  const floor = await runCli(['inspect', model, '--json'], threads);
  const phases: Phases[] = [];
  for (let i = 0; i < repeats; i++) phases.push(await inProcessPrune(model, out, threads, samples));
  await rm(out, { recursive: true, force: true });

  const phaseSummary = Object.fromEntries((Object.keys(phases[0]) as (keyof Phases)[]).map((k) => [k, summarize(phases.map((p) => p[k]))])) as Record<keyof Phases, Summary>;
  const gflop = scoringFlops(spec, lengths) / 1e9;
  const scoringSeconds = phaseSummary.scoring.median;
  const rss = summarize(cli.map((c) => c.maxRssMiB));
  const modelMib = (await dirBytes(model)) / MiB;
  const layerMib = (Math.max(...spec.layers.map((_, i) => spec.layerWeights(i).reduce((a, w) => a + numel(w.shape), 0))) * 4) / MiB;
  const globalsMib = (spec.globalWeights().reduce((a, w) => a + numel(w.shape), 0) * 4) / MiB;
  return {
    name,
    model,
    architecture: spec.architecture,
    layers: spec.numLayers,
    model_mib: modelMib,
    largest_layer_f32_mib: layerMib,
    globals_f32_mib: globalsMib,
    calibration: { prompts: sequences.length, tokens: lengths.reduce((a, b) => a + b, 0), padded_tokens: batches.reduce((a, b) => a + b.length * Math.max(...b.map((s) => s.length)), 0), batches: batches.length },
    cli: { seconds: summarize(cli.map((c) => c.seconds)), peak_rss_mib: rss, floor_rss_mib: floor.maxRssMiB },
    phases: phaseSummary,
    scoring: { tokens_per_s: lengths.reduce((a, b) => a + b, 0) / scoringSeconds, gflop, gflops: gflop / scoringSeconds, fraction_of_matmul_peak: gflop / scoringSeconds / peak },
    rss_over_model: rss.median / modelMib,
    rest_mib: rss.median - floor.maxRssMiB - globalsMib - layerMib,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      threads: { type: 'string' },
      repeats: { type: 'string' },
      models: { type: 'string' },
    },
  });
  const quick = values.quick;
  const threads = Number(values.threads ?? os.availableParallelism());
  const host = await machine(threads);
  const repeats = Number(values.repeats ?? (quick ? 1 : 2));
  const samples = quick ? 8 : SAMPLES;
  // Two depths of the same layer shape: streaming shows as a peak RSS that does not grow with depth.
  const names = (values.models ?? (quick ? 'smollm,trained-llama' : 'smollm2,llama1b-4l,llama1b-8l')).split(',');
  const peak = await matmulPeak(threads, quick ? 3 : 10, quick ? [[256, 576, 1536]] : undefined);

  const results: ModelResult[] = [];
  for (const n of names) {
    results.push(await benchModel(n, await modelDir(n, threads), threads, repeats, samples, peak.peak));
    console.error(`${n}: done`);
  }
  printTable([
    ['model', 'layers', 'model MiB', 'peak RSS MiB', 'floor+globals+layer', 'rest', 'prune s', 'scoring s', 'calib tok/s', 'GFLOP/s', '% MatMul peak'],
    ...results.map((r) => [
      r.name,
      String(r.layers),
      fixed(r.model_mib, 0),
      fixed(r.cli.peak_rss_mib.median, 0),
      `${fixed(r.cli.floor_rss_mib, 0)}+${fixed(r.globals_f32_mib, 0)}+${fixed(r.largest_layer_f32_mib, 0)}`,
      fixed(r.rest_mib, 0),
      fixed(r.cli.seconds.median),
      fixed(r.phases.scoring.median),
      fixed(r.scoring.tokens_per_s, 0),
      fixed(r.scoring.gflops, 1),
      fixed(100 * r.scoring.fraction_of_matmul_peak, 0),
    ]),
  ]);
  console.log(`MatMul peak ${fixed(peak.peak, 1)} GFLOP/s; prune s = CLI process wall (median of ${repeats}); scoring s = prune()'s scoring phase in-process; rest = peak RSS − floor − globals − one layer (activations, onnxruntime arena)`);
  if (quick) return;
  const file = await writeResult('prune', {
    bench: 'prune',
    machine: host,
    settings: { method: 'amp', ratio: RATIO, allocation: 'uniform', gqa: 'group', calibration: `first ${samples} Alpaca prompts, prompts mode`, repeats, warmup: 1 },
    flop_formula: 'Σ_prompts Σ_layers (2·P_matmul·T + 4·T²·H·d_h + 2·T·H·d_h·d), real tokens only',
    matmul_peak_gflops: peak,
    models: results,
  });
  console.log(`written ${file}`);
}

if (isMain(import.meta.url)) await main();
