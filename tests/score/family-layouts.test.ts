/**
 * The weight-based scorers against numpy (tests/fixtures/score_reference.py): magnitude, Wanda-SP
 * and FLAP on every layer of tiny checkpoints of each family layout (GQA, biases, a head_dim that
 * is not hidden/heads, Phi's plain MLP and "dense" naming, Phi-3's fused qkv and gate_up, Qwen3's
 * per-head norms), over the same seeded activations. The referee reads the Hugging Face tensors
 * by their own names and the papers' formulas; ours reads the ownership table. Element by element,
 * so zero, constant, shuffled or random scores all fail. (scorers.test.ts checks every method on
 * one hand-made layer with exactly representable values.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openCheckpoint, WeightReader } from '../../src/engine/checkpoint.js';
import { flap } from '../../src/score/flap.js';
import { magnitude } from '../../src/score/magnitude.js';
import { emptyStats } from '../../src/score/stats.js';
import type { LayerStats } from '../../src/score/stats.js';
import type { Method } from '../../src/score/types.js';
import { wandaSp } from '../../src/score/wanda-sp.js';
import { fixtureDir, REPO_ROOT, runPython } from '../helpers/python.js';

interface Scores {
  heads: number[];
  neurons: number[];
}

interface ReferenceLayer {
  stats: { tokens: number; oInSum: number[]; oInSq: number[]; mlpSum: number[]; mlpSq: number[] };
  magnitude: Scores;
  'wanda-sp': Scores;
  flap: Scores;
}

const FIXTURES = ['llama-mha', 'llama3-gqa-tied', 'llama-bias-headdim', 'phi', 'phi3-gqa-partial', 'qwen3'];
const METHODS: Method[] = [magnitude, wandaSp, flap];
const TOLERANCE = 1e-9;

function assertClose(actual: Float64Array, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: count`);
  expected.forEach((e, i) => {
    const err = Math.abs(actual[i] - e) / Math.max(Math.abs(e), 1e-300);
    assert.ok(err <= TOLERANCE, `${what}[${i}]: ${actual[i]} vs numpy ${e} (relative error ${err})`);
  });
}

/** The referee's numbers are not degenerate: structures differ (far beyond the tolerance), so a wrong mapping cannot pass. */
function assertSpread(values: number[], what: string): void {
  const [low, high] = [Math.min(...values), Math.max(...values)];
  assert.ok(low > 0 && high > 1.001 * low, `${what}: reference scores too uniform to test (${low}..${high})`);
}

function stats(ref: ReferenceLayer['stats'], heads: number, headDim: number, intermediate: number): LayerStats {
  return { ...emptyStats(heads, headDim, intermediate), sequences: 1, tokens: ref.tokens, oInSum: Float64Array.from(ref.oInSum), oInSq: Float64Array.from(ref.oInSq), mlpSum: Float64Array.from(ref.mlpSum), mlpSq: Float64Array.from(ref.mlpSq) };
}

for (const name of FIXTURES) {
  describe(name, async () => {
    const dir = await fixtureDir(name);
    const reference = JSON.parse(await runPython([`${REPO_ROOT}/tests/fixtures/score_reference.py`, '--model', dir, '--tokens', '37', '--seed', '3'])) as { layers: ReferenceLayer[] };
    const ckpt = await openCheckpoint(dir);
    const reader = new WeightReader(ckpt.store);
    const { spec } = ckpt;
    for (const method of METHODS) {
      test(`${method.name}: every layer's head and neuron scores equal numpy's`, async () => {
        for (let layer = 0; layer < spec.numLayers; layer++) {
          const ref = reference.layers[layer];
          const { heads, intermediate } = spec.layers[layer];
          const scores = method.score({ spec, layer, weights: await reader.layer(spec, layer), stats: stats(ref.stats, heads, spec.headDim, intermediate), seed: 0 });
          const expected = ref[method.name as 'magnitude' | 'wanda-sp' | 'flap'];
          assertSpread(expected.heads, `${method.name} layer ${layer} heads`);
          assertSpread(expected.neurons, `${method.name} layer ${layer} neurons`);
          assertClose(scores.heads, expected.heads, `${name} ${method.name} layer ${layer} heads`);
          assertClose(scores.neurons, expected.neurons, `${name} ${method.name} layer ${layer} neurons`);
        }
      });
    }
  });
}
