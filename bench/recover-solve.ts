/**
 * bench/recover-solve: what lsq's solve costs for one projection at LLaMA-7B's MLP width, the
 * heaviest problem `--recover lsq` meets there: down_proj with 11008 inputs and 4096 outputs,
 * 30% of its inputs removed (7706 kept + the bias column). The fitting Gram matrix is a real one
 * (Xᵀ X of random activations with a shared low-rank structure and heavy-tailed per-feature scales,
 * as calibration inputs have)
 * and the held-out rows another draw of the same distribution (800: an eighth of the default
 * 6,400 calibration tokens), made before the clock starts; the timed part is exactly what the
 * recovery pass runs per projection: lsq.repair (kept Gram block, right-hand side, blocked
 * Cholesky, update) and the held-out before/after errors.
 *
 *   node --import tsx bench/recover-solve.ts [--width 11008] [--hidden 4096] [--ratio 0.3] [--tokens 4096] [--held-tokens 800] [--threads 2]
 *
 * Reports wall seconds, the share spent in onnxruntime GEMMs and their float64 GFLOP/s next to
 * the same run's plain float64 GEMM peak (2048³), and the process's peak RSS. Writes
 * bench/results/recover-solve.json.
 */
import { parseArgs } from 'node:util';
import { Gemm } from '../src/engine/gemm.js';
import { emptyGram, type GramStats } from '../src/recover/gram.js';
import { heldRowsOf } from '../src/recover/held-rows.js';
import { relativeErrors } from '../src/recover/error.js';
import { lsq } from '../src/recover/lsq.js';
import { none } from '../src/recover/none.js';
import { DEFAULT_RECOVER_DAMP } from '../src/prune/prune.js';
import type { ProjectionProblem } from '../src/recover/types.js';
import { machine, writeResult } from './common.js';

const fixed = (x: number, digits: number) => Number(x.toFixed(digits));

const { values: args } = parseArgs({
  options: {
    width: { type: 'string', default: '11008' },
    hidden: { type: 'string', default: '4096' },
    ratio: { type: 'string', default: '0.3' },
    tokens: { type: 'string', default: '4096' },
    'held-tokens': { type: 'string', default: '800' },
    threads: { type: 'string', default: '2' },
  },
});
const F = Number(args.width);
const D = Number(args.hidden);
const T = Number(args.tokens);
const HELD = Number(args['held-tokens']);
const threads = Number(args.threads);
const ratio = Number(args.ratio);

/** Deterministic standard normals (xorshift + Box–Muller): the bench's inputs do not vary run to run. */
function normals(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const next = () => ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5), (s >>> 0) / 2 ** 32 + 1e-12);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(next()));
    const t = 2 * Math.PI * next();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

/** Counts the time and FLOPs that go through onnxruntime. */
class TimedGemm extends Gemm {
  seconds = 0;
  flops = 0;
  override async matmul<P extends 'float32' | 'float64'>(precision: P, a: never, m: number, k: number, b: never, n: number, transB = false): Promise<never> {
    const start = performance.now();
    const out = await super.matmul(precision, a, m, k, b, n, transB);
    this.seconds += (performance.now() - start) / 1000;
    this.flops += 2 * m * k * n;
    return out as never;
  }
}

/** Per-feature log-normal scales (a few loud features, as in real MLP inputs), shared by the fitting and held-out draws. */
const scales = normals(F, 99).map((z) => Math.exp(0.75 * z));
/** Features share a rank-RANK structure, as a layer's neurons do, so removed ones are partly predictable from kept ones (what the refit exploits). */
const RANK = 256;
const loadings = normals(F * RANK, 98); // [F, RANK]

/** Activations [F, tokens] (feature-major), one draw of the distribution: (loadings · z + noise) · scale. */
async function activations(gemm: Gemm, tokens: number, seed: number): Promise<Float32Array> {
  const z = normals(RANK * tokens, seed + 1); // [RANK, tokens]
  const xt = await gemm.matmul('float32', loadings, F, RANK, z, tokens);
  const noise = normals(F * tokens, seed);
  for (let f = 0; f < F; f++) for (let t = 0; t < tokens; t++) xt[f * tokens + t] = (xt[f * tokens + t] / Math.sqrt(RANK) + 0.5 * noise[f * tokens + t]) * scales[f];
  return xt;
}

/** Xᵀ X over T tokens. */
async function gramOf(gemm: Gemm, seed: number): Promise<GramStats> {
  const xt = await activations(gemm, T, seed);
  const g = await gemm.matmul('float32', xt, F, T, xt, F, true);
  const stats = emptyGram(F);
  stats.gram.set(g);
  for (let f = 0; f < F; f++) {
    let s = 0;
    for (let t = 0; t < T; t++) s += xt[f * T + t];
    stats.sum[f] = s;
  }
  stats.totalWeight = T;
  return stats;
}

async function float64Peak(gemm: Gemm): Promise<number> {
  const n = 2048;
  const a = Float64Array.from(normals(n * n, 7));
  await gemm.matmul('float64', a, n, n, a, n);
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    await gemm.matmul('float64', a, n, n, a, n);
    runs.push((2 * n ** 3) / ((performance.now() - start) / 1000) / 1e9);
  }
  return Math.max(...runs);
}

const setup = new Gemm({ threads });
console.error(`building a ${F}-wide Gram matrix from ${T} tokens, and ${HELD} held-out rows ...`);
const fit = await gramOf(setup, 11);
const heldT = await activations(setup, HELD, 23);
const heldX = new Float32Array(HELD * F);
for (let f = 0; f < F; f++) for (let t = 0; t < HELD; t++) heldX[t * F + f] = heldT[f * HELD + t];
const held = heldRowsOf(heldX, HELD, F);
const peak = await float64Peak(setup);
await setup.close();

const keptCount = Math.round(F * (1 - ratio));
const order = Array.from(normals(F, 5), (v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
const kept = order.slice(0, keptCount).map(([, i]) => i).sort((a, b) => a - b);
const problem: ProjectionProblem = {
  weight: normals(D * F, 3).map((v) => v * 0.02),
  outFeatures: D,
  inFeatures: F,
  bias: new Float32Array(D),
  kept,
  biasWritable: true,
  fit,
  damp: DEFAULT_RECOVER_DAMP,
};

const gemm = new TimedGemm({ threads });
console.error(`solving: ${keptCount} kept of ${F} inputs (+ bias), ${D} outputs ...`);
let start = performance.now();
const after = await lsq.repair(problem, gemm);
const repairSeconds = (performance.now() - start) / 1000;
const repairGemm = { seconds: gemm.seconds, flops: gemm.flops };
start = performance.now();
const before = await none.repair(problem, gemm);
const errors = await relativeErrors(gemm, problem, { before, after }, held);
const errorSeconds = (performance.now() - start) / 1000;
await gemm.close();

const total = repairSeconds + errorSeconds;
const record = {
  machine: await machine(threads),
  threads,
  width: F,
  hidden: D,
  kept: keptCount,
  calibrationTokens: T,
  heldOutTokens: HELD,
  damp: DEFAULT_RECOVER_DAMP,
  seconds: { repair: fixed(repairSeconds, 2), heldOutErrors: fixed(errorSeconds, 2), total: fixed(total, 2) },
  gemmShareOfRepair: fixed(repairGemm.seconds / repairSeconds, 3),
  gemmGflops: fixed(repairGemm.flops / repairGemm.seconds / 1e9, 1),
  float64PeakGflops: fixed(peak, 1),
  heldOutError: { before: fixed(errors.before, 4), after: fixed(errors.after, 4) },
  peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
};
console.log(JSON.stringify(record, null, 2));
console.log(`\none ${F}-wide down_proj: ${total.toFixed(1)} s (repair ${repairSeconds.toFixed(1)} s, ${(record.gemmShareOfRepair * 100).toFixed(0)}% in onnxruntime GEMMs at ${record.gemmGflops} GFLOP/s, float64 peak ${record.float64PeakGflops}; held-out errors ${errorSeconds.toFixed(1)} s), peak RSS ${record.peakRssMiB} MiB`);
console.log(`wrote ${await writeResult('recover-solve', record)}`);
