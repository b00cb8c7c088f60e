/**
 * The blocked Cholesky solve against numpy.linalg.solve, at a size that takes every path: several
 * 192-wide diagonal blocks and trailing updates taller than one 1024-row chunk; in place and not.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Gemm } from '../../src/engine/gemm.js';
import { NotPositiveDefinite, solveSpd } from '../../src/recover/cholesky.js';
import { relativeError } from '../helpers/compare.js';
import { runPython } from '../helpers/python.js';

const gemm = new Gemm({ threads: 2 });
after(() => gemm.close());

const N = 1400;
const M = 3;

/** A = GᵀG/k + 0.05·I from seeded uniforms: SPD, with a spread of eigenvalues a solve can get wrong. */
function spd(n: number): Float64Array {
  let s = 12345;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), s / 2 ** 32 - 0.5);
  const k = 64;
  const g = Float64Array.from({ length: k * n }, next);
  const a = new Float64Array(n * n);
  for (let r = 0; r < k; r++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] += (g[r * n + i] * g[r * n + j]) / k;
  for (let i = 0; i < n; i++) a[i * n + i] += 0.05 + (i % 7) * 0.01;
  return a;
}

const a = spd(N);
const b = Float64Array.from({ length: N * M }, (_, i) => Math.sin(i * 0.37) + 0.5);

const NUMPY_SOLVE = `
import sys, numpy as np
n, m = int(sys.argv[2]), int(sys.argv[3])
a = np.fromfile(sys.argv[1] + "/a.bin").reshape(n, n)
b = np.fromfile(sys.argv[1] + "/b.bin").reshape(n, m)
np.linalg.solve(a, b).tofile(sys.argv[1] + "/z.bin")
`;

async function numpySolve(): Promise<Float64Array> {
  const dir = await mkdtemp(join(tmpdir(), 'amp-cholesky-'));
  try {
    await writeFile(join(dir, 'a.bin'), a);
    await writeFile(join(dir, 'b.bin'), b);
    await runPython(['-c', NUMPY_SOLVE, dir, String(N), String(M)]);
    const bytes = await readFile(join(dir, 'z.bin'));
    return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const reference = await numpySolve();

test('solveSpd equals numpy.linalg.solve across blocks and update chunks, leaving A intact', async () => {
  const copy = Float64Array.from(a);
  const z = await solveSpd(gemm, a, N, b, M);
  const err = relativeError(z, reference);
  assert.ok(err < 1e-9, `differs from numpy by ${err} (relative to the largest entry)`);
  assert.deepEqual(a, copy, 'A is read, not modified');
});

test('solveSpd with overwrite gives the same solution, factoring A in place', async () => {
  const own = Float64Array.from(a);
  const z = await solveSpd(gemm, own, N, b, M, { overwrite: true });
  assert.ok(relativeError(z, reference) < 1e-9);
  assert.notDeepEqual(own, a, 'the factor was written into the given array');
});

test('a matrix that is not positive definite is refused', async () => {
  const bad = Float64Array.from(a);
  bad[700 * N + 700] = -1; // a negative diagonal entry past the first block
  await assert.rejects(solveSpd(gemm, bad, N, b, M), NotPositiveDefinite);
});
