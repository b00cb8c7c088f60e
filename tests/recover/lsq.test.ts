/**
 * The least-squares refit against numpy solving the same damped problem directly (an augmented
 * lstsq system, not our normal equations), on a Gram matrix wider than one Cholesky block.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Gemm } from '../../src/engine/gemm.js';
import { relativeErrors } from '../../src/recover/error.js';
import { emptyCross } from '../../src/recover/cross.js';
import type { CrossStats } from '../../src/recover/cross.js';
import { emptyGram } from '../../src/recover/gram.js';
import { heldRowsOf } from '../../src/recover/held-rows.js';
import type { GramStats } from '../../src/recover/gram.js';
import { bias } from '../../src/recover/bias.js';
import { lsq } from '../../src/recover/lsq.js';
import { none } from '../../src/recover/none.js';
import type { ProjectionProblem } from '../../src/recover/types.js';
import { REPO_ROOT, runPython } from '../helpers/python.js';
import { relativeError as maxRelative } from '../helpers/compare.js';

const gemm = new Gemm({ threads: 2 });
after(() => gemm.close());

/** Deterministic pseudo-random numbers (mulberry32), correlated features so the refit matters. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

/** Tokens drawn from one distribution (shared low-rank structure + noise); `seed` picks the draw. */
function inputs(n: number, f: number, seed: number): Float32Array {
  const structure = rng(1000);
  const base = Array.from({ length: 16 }, () => Float32Array.from({ length: f }, structure));
  const r = rng(seed);
  const x = new Float32Array(n * f);
  for (let t = 0; t < n; t++) {
    const mix = base.map(() => r() * 2);
    for (let j = 0; j < f; j++) x[t * f + j] = 0.3 + base.reduce((s, v, k) => s + v[j] * mix[k], 0) + 0.2 * r();
  }
  return x;
}

function gramOf(x: Float32Array, n: number, f: number): GramStats {
  const g = emptyGram(f);
  for (let t = 0; t < n; t++) {
    for (let i = 0; i < f; i++) {
      const xi = x[t * f + i];
      g.sum[i] += xi;
      for (let j = 0; j < f; j++) g.gram[i * f + j] += xi * x[t * f + j];
    }
  }
  g.totalWeight = n;
  return g;
}

const N = 600;
const F = 260; // > one 192-wide Cholesky block
const D = 24;
const x = inputs(N, F, 1);
const fit = gramOf(x, N, F);
const r = rng(2);
const weight = Float32Array.from({ length: D * F }, r);
const denseBias = Float32Array.from({ length: D }, r);
const kept = Array.from({ length: F }, (_, i) => i).filter((i) => i % 10 < 7);

function problem(withBias: boolean, damp = 0.01): ProjectionProblem {
  return { weight, outFeatures: D, inFeatures: F, bias: withBias ? denseBias : undefined, kept, biasWritable: withBias, fit, damp };
}

async function numpySolution(p: ProjectionProblem, xTarget?: Float32Array): Promise<{ weight: number[]; bias: number[] | null }> {
  const dir = await mkdtemp(join(tmpdir(), 'amp-lsq-'));
  try {
    const file = join(dir, 'problem.json');
    const target = xTarget ? Array.from(xTarget) : null;
    await writeFile(file, JSON.stringify({ n: N, f: F, d: D, x: Array.from(x), x_target: target, w: Array.from(weight), bias: p.bias ? Array.from(p.bias) : null, kept, damp: p.damp, refit_bias: p.biasWritable }));
    return JSON.parse(await runPython([join(REPO_ROOT, 'tests', 'fixtures', 'lsq_reference.py'), file]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (const withBias of [false, true]) {
  test(`lsq equals numpy's damped least squares ${withBias ? 'with' : 'without'} the bias column`, async () => {
    const p = problem(withBias);
    const ours = await lsq.repair(p, gemm);
    const ref = await numpySolution(p);
    assert.equal(ours.weight.length, D * kept.length);
    const err = maxRelative(ours.weight, ref.weight);
    assert.ok(err < 1e-4, `weights differ from numpy by ${err} (relative to the largest entry)`);
    if (withBias) {
      const bErr = maxRelative(ours.bias!, ref.bias!);
      assert.ok(bErr < 1e-4, `bias differs from numpy by ${bErr}`);
    } else {
      assert.equal(ours.bias, undefined);
    }
    // the refit moved the weights: slicing alone would not match numpy
    assert.ok(maxRelative((await none.repair(p, gemm)).weight, ref.weight) > 1e-2);
  });
}

/** Σ_t x_t x_d,tᵀ and Σ_t x_d,t (every token weighing 1). */
function crossOf(xp: Float32Array, xd: Float32Array, n: number, f: number): CrossStats {
  const c = emptyCross(f);
  for (let t = 0; t < n; t++) {
    for (let i = 0; i < f; i++) {
      c.sum[i] += xd[t * f + i];
      const xi = xp[t * f + i];
      for (let j = 0; j < f; j++) c.gram[i * f + j] += xi * xd[t * f + j];
    }
  }
  return c;
}

// the dense model's own input at the same point: the pruned one plus a drift (what upstream pruning does)
const drift = rng(3);
const xDense = Float32Array.from(x, (v, i) => v * (1 + 0.3 * drift()) + 0.1 * Math.sin(i));

for (const withBias of [false, true]) {
  test(`lsq toward the dense model's activations (--refit-target model) equals numpy ${withBias ? 'with' : 'without'} the bias column`, async () => {
    const p = { ...problem(withBias), target: crossOf(x, xDense, N, F) };
    const ours = await lsq.repair(p, gemm);
    const ref = await numpySolution(p, xDense);
    const err = maxRelative(ours.weight, ref.weight);
    assert.ok(err < 1e-4, `weights differ from numpy by ${err} (relative to the largest entry)`);
    if (withBias) {
      const bErr = maxRelative(ours.bias!, ref.bias!);
      assert.ok(bErr < 1e-4, `bias differs from numpy by ${bErr}`);
    }
    // a different problem from the layer target: its solution would not match
    assert.ok(maxRelative((await lsq.repair(problem(withBias), gemm)).weight, ref.weight) > 1e-2);
  });
}

test('on held-out tokens: error(lsq) < error(bias) < error(none)', async () => {
  // enough fitting tokens per feature that the refit generalises (it overfits at ~2 per feature)
  const held = heldRowsOf(inputs(300, F, 7), 300, F);
  const p = { ...problem(true), fit: gramOf(inputs(4000, F, 5), 4000, F) };
  const before = await none.repair(p, gemm);
  const viaBias = await relativeErrors(gemm, p, { before, after: await bias.repair(p, gemm) }, held);
  const viaLsq = await relativeErrors(gemm, p, { before, after: await lsq.repair(p, gemm) }, held);
  assert.equal(viaBias.before, viaLsq.before);
  assert.ok(viaBias.after < viaBias.before, `bias ${viaBias.after} vs none ${viaBias.before}`);
  assert.ok(viaLsq.after < viaBias.after, `lsq ${viaLsq.after} vs bias ${viaBias.after}`);
});

test('the relative error is the norm of the output difference (checked on explicit activations)', async () => {
  const n = 50;
  const xs = inputs(n, F, 9);
  const p = problem(true);
  const repaired = await lsq.repair(p, gemm);
  const { after: viaRows } = await relativeErrors(gemm, p, { before: await none.repair(p, gemm), after: repaired }, heldRowsOf(xs, n, F));
  let diff = 0;
  let norm = 0;
  for (let t = 0; t < n; t++) {
    for (let o = 0; o < D; o++) {
      let y = denseBias[o];
      for (let j = 0; j < F; j++) y += xs[t * F + j] * weight[o * F + j];
      let y2 = repaired.bias![o];
      kept.forEach((j, c) => (y2 += xs[t * F + j] * repaired.weight[o * kept.length + c]));
      diff += (y2 - y) ** 2;
      norm += y * y;
    }
  }
  const direct = Math.sqrt(diff / norm);
  assert.ok(Math.abs(viaRows - direct) < 1e-3 * direct + 1e-6, `rows ${viaRows} vs direct ${direct}`);
});
