/** Measuring tools every bench shares: paths, timing summaries, machine record, child processes with peak RSS, the MatMul peak and FLOP formulas. */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ArchSpec } from '../src/arch/spec.js';
import { ElemType, GraphBuilder } from '../src/engine/graph.js';
import { VERSION } from '../src/engine/model.js';
import { OrtSession } from '../src/engine/session.js';
import { REPO_ROOT } from './real-model.js';

export const FIXTURES = join(REPO_ROOT, '.cache', 'fixtures');
export const DATA = join(REPO_ROOT, '..', 'shared', 'data');
export const ALPACA = join(DATA, 'alpaca', 'alpaca_5000.json');
export const PYTHON = join(REPO_ROOT, '.venv', 'bin', 'python');
/** The CLI from source, the way tests run it. */
export const CLI = ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'bin.ts')];

/** True when this module is the script node was started with (not imported by another bench). */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && url === pathToFileURL(process.argv[1]).href;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** (max − min) / median: how far apart the repeats were. */
  spread: number;
  samples: number[];
}

export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s.at(-1)!, spread: (s.at(-1)! - s[0]) / median, samples: [...samples] };
}

/** Seconds of `repeats` timed calls after `warmup` untimed ones. */
export async function timeRepeats(fn: () => Promise<unknown>, warmup: number, repeats: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await fn();
    out.push((performance.now() - start) / 1000);
  }
  return out;
}

/** Fraction of all cores' time spent busy over `ms` (from /proc/stat via os.cpus()). */
async function cpuBusy(ms: number): Promise<number> {
  const total = () => os.cpus().reduce((acc, c) => {
    const t = c.times;
    return { busy: acc.busy + t.user + t.nice + t.sys + t.irq, all: acc.all + t.user + t.nice + t.sys + t.irq + t.idle };
  }, { busy: 0, all: 0 });
  const a = total();
  await new Promise((r) => setTimeout(r, ms));
  const b = total();
  return (b.busy - a.busy) / Math.max(1, b.all - a.all);
}

/** What a result depends on besides the code: the machine, how busy it was, the versions. */
export async function machine(threads: number): Promise<Record<string, unknown>> {
  const busy = Number((await cpuBusy(1000)).toFixed(3));
  if (busy > 0.1) console.error(`warning: the cores were ${Math.round(100 * busy)}% busy before the bench started; timings are suspect`);
  const ortPkg = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')) as { version: string };
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout: the record still stands without it
  }
  return {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memory_gib: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    os: `${os.type()} ${os.release()}`,
    threads,
    // measured for one second before the bench starts: well above 0 means another job shares the
    // cores and the timings are suspect (the load average would still count a previous bench)
    cpu_busy_before: busy,
    versions: { node: process.version, 'onnxruntime-node': ortPkg.version, 'amp-prune': VERSION, commit },
  };
}

export async function writeResult(name: string, record: Record<string, unknown>): Promise<string> {
  const file = join(REPO_ROOT, 'bench', 'results', `${name}.json`);
  await mkdir(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(file, JSON.stringify(record, null, 2) + '\n');
  return file;
}

export interface ChildRun {
  /** Wall seconds from spawn to exit. */
  seconds: number;
  /** Peak resident set size of the child (GNU time's %M), MiB. */
  maxRssMiB: number;
  stdout: string;
}

/** Runs a command to completion under /usr/bin/time, for its wall time and peak RSS. */
export async function runChild(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildRun> {
  const dir = await mkdtemp(join(os.tmpdir(), 'amp-bench-'));
  const rssFile = join(dir, 'rss');
  try {
    const start = performance.now();
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile('/usr/bin/time', ['-f', '%M', '-o', rssFile, cmd, ...args], { cwd: REPO_ROOT, env, maxBuffer: 256 * 2 ** 20 }, (error, out, stderr) => {
        if (error) reject(new Error(`${[cmd, ...args].join(' ')} failed: ${error.message.split('\n')[0]}\n${stderr.slice(-4000)}`));
        else resolve(out);
      });
    });
    const seconds = (performance.now() - start) / 1000;
    const kib = Number((await readFile(rssFile, 'utf8')).trim().split('\n').at(-1));
    return { seconds, maxRssMiB: kib / 1024, stdout };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs a bench/python script with the same thread count; its last stdout line is JSON. */
export async function runPythonJson<T>(script: string, args: readonly string[], threads: number): Promise<{ result: T; run: ChildRun }> {
  const env = { ...process.env, HF_HUB_OFFLINE: '1', HF_DATASETS_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false', OMP_NUM_THREADS: String(threads), TQDM_DISABLE: '1' };
  const run = await runChild(PYTHON, [join(REPO_ROOT, 'bench', 'python', script), ...args, '--threads', String(threads)], env);
  return { result: JSON.parse(run.stdout.trim().split('\n').at(-1)!) as T, run };
}

/** The CLI as a child process with `threads`, measured. */
export function runCli(args: readonly string[], threads: number): Promise<ChildRun> {
  return runChild(process.execPath, [...CLI, '--threads', String(threads), ...args]);
}

/** Prints rows as an aligned text table (first row = header). */
export function printTable(rows: readonly (readonly string[])[]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
}

export const fixed = (x: number, digits = 2) => x.toFixed(digits);

/** Weights that are multiplied by every token (q, k, v, o, gate, up, down): their element count. */
export function layerMatmulParams(spec: ArchSpec, layer: number): number {
  return spec.layerWeights(layer).filter((w) => w.shape.length === 2).reduce((a, w) => a + w.shape[0] * w.shape[1], 0);
}

/**
 * FLOPs of one causal forward over T tokens, counted as the engine computes it:
 *   Σ_layers [ 2·P_matmul·T + 4·T²·H·d_h ]  (+ 2·V·d·T for the lm_head when `lmHead`)
 * P_matmul: the layer's projection weights (q, k, v, o, gate, up, down); 4·T²·H·d_h: QKᵀ and P·V
 * over the full T×T score matrix (the engine masks, it does not skip, the upper triangle).
 * Norms, RoPE, softmax and activations (O(T·d)) are left out.
 */
export function forwardFlops(spec: ArchSpec, T: number, lmHead = true): number {
  let flops = lmHead ? 2 * spec.vocab * spec.hidden * T : 0;
  for (let i = 0; i < spec.numLayers; i++) flops += 2 * layerMatmulParams(spec, i) * T + 4 * T * T * spec.layers[i].heads * spec.headDim;
  return flops;
}

/** onnxruntime's GFLOP/s on one plain MatMul [M,K]·[K,N] (B an initializer, as model weights are). */
export async function matmulGflops(m: number, k: number, n: number, threads: number, repeats: number): Promise<Summary> {
  const g = new GraphBuilder('matmul-peak');
  const a = g.input('a', ElemType.FLOAT, [m, k]);
  const bData = Float32Array.from({ length: k * n }, (_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  const b = g.initializer({ name: 'b', elemType: ElemType.FLOAT, dims: [k, n], raw: new Uint8Array(bData.buffer) });
  g.output(g.op('/MatMul', 'MatMul', [a, b]), 'c', ElemType.FLOAT, [m, n]);
  const session = await OrtSession.create(g.toBytes(VERSION), { threads });
  const feeds = { a: { type: 'float32' as const, data: Float32Array.from({ length: m * k }, (_, i) => (i % 17) / 17), dims: [m, k] } };
  try {
    const seconds = await timeRepeats(() => session.run(feeds), 2, repeats);
    return summarize(seconds.map((s) => (2 * m * k * n) / s / 1e9));
  } finally {
    await session.release();
  }
}

/** The MatMul shapes the peak is taken over: SmolLM2's up_proj at 2048 tokens and a square 2048³. */
export const PEAK_SHAPES: readonly [number, number, number][] = [
  [2048, 576, 1536],
  [2048, 2048, 2048],
];

/** The best median MatMul GFLOP/s over PEAK_SHAPES, per shape as well. */
export async function matmulPeak(threads: number, repeats: number, shapes = PEAK_SHAPES): Promise<{ peak: number; shapes: Record<string, Summary> }> {
  const out: Record<string, Summary> = {};
  for (const [m, k, n] of shapes) out[`${m}x${k}x${n}`] = await matmulGflops(m, k, n, threads, repeats);
  return { peak: Math.max(...Object.values(out).map((s) => s.median)), shapes: out };
}
