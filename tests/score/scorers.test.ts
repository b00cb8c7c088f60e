/**
 * Every `--method` scorer on one small hand-made layer (GQA: 2 query heads share 1 KV head), with
 * scores checked value by value against numpy written from the definitions in AMP-SPEC and the
 * papers, not from our code: all-zero, swapped or permuted scores fail.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { LayerWeightName } from '../../src/arch/spec.js';
import type { LayerScores } from '../../src/plan/types.js';
import { METHODS, methodByName } from '../../src/score/registry.js';
import type { LayerStats } from '../../src/score/stats.js';
import type { ScoreContext } from '../../src/score/types.js';
import { llamaSpec } from '../plan/models.js';
import { runPython } from '../helpers/python.js';

const HIDDEN = 4;
const HEADS = 2;
const KV_HEADS = 1;
const HEAD_DIM = HIDDEN / HEADS;
const INTERMEDIATE = 3;

const spec = llamaSpec({
  num_hidden_layers: 2,
  num_attention_heads: HEADS,
  num_key_value_heads: KV_HEADS,
  hidden_size: HIDDEN,
  intermediate_size: INTERMEDIATE,
  vocab_size: 8,
});

/** Distinct, exactly representable values of both signs, [rows, cols] row-major as transformers stores them. */
function matrix(rows: number, cols: number, salt: number): number[][] {
  return Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (((i * cols + j) * 7 + salt) % 13) / 4 - 1.5));
}

const W = {
  q: matrix(HEADS * HEAD_DIM, HIDDEN, 1),
  k: matrix(KV_HEADS * HEAD_DIM, HIDDEN, 2),
  v: matrix(KV_HEADS * HEAD_DIM, HIDDEN, 3),
  o: matrix(HIDDEN, HEADS * HEAD_DIM, 4),
  gate: matrix(INTERMEDIATE, HIDDEN, 5),
  up: matrix(INTERMEDIATE, HIDDEN, 6),
  down: matrix(HIDDEN, INTERMEDIATE, 7),
};

/** Statistics over 5 tokens; each squared sum exceeds sum²/5, so every variance is positive and distinct. */
const STATS = {
  sequences: 2,
  tokens: 5,
  headL1: [0.75, 2.5],
  neuronAbs: [1.25, 0.5, 3],
  oInSum: [1, -2, 0.5, 3],
  oInSq: [4, 6, 2.5, 9],
  mlpSum: [2, -1, 0.5],
  mlpSq: [3, 7, 1.5],
};

function stats(): LayerStats {
  return {
    sequences: STATS.sequences,
    tokens: STATS.tokens,
    headL1: Float64Array.from(STATS.headL1),
    neuronAbs: Float64Array.from(STATS.neuronAbs),
    oInSum: Float64Array.from(STATS.oInSum),
    oInSq: Float64Array.from(STATS.oInSq),
    mlpSum: Float64Array.from(STATS.mlpSum),
    mlpSq: Float64Array.from(STATS.mlpSq),
  };
}

function context(layer = 0, seed = 0): ScoreContext {
  const weights = new Map<LayerWeightName, Float32Array>(
    Object.entries(W).map(([name, m]) => [`${name}.weight` as LayerWeightName, Float32Array.from(m.flat())]),
  );
  return { spec, layer, stats: stats(), weights, seed };
}

/** numpy from the definitions, in float64 on the same values. */
const NUMPY = `
import json, sys
import numpy as np
w = {k: np.array(v, dtype=np.float64) for k, v in json.loads(sys.argv[1]).items()}
s = {k: np.array(v, dtype=np.float64) for k, v in json.loads(sys.argv[2]).items()}
heads, kv, dh = ${HEADS}, ${KV_HEADS}, ${HEAD_DIM}
group = heads // kv
n = float(s["tokens"])
def per_head(cols):  # per o_proj input column -> per head
    return cols.reshape(heads, dh).sum(axis=1)
# magnitude: ||weights a structure owns||_2, a 1/group share of its KV head's k and v rows
q = (w["q"] ** 2).reshape(heads, dh, -1).sum(axis=(1, 2))
k = (w["k"] ** 2).reshape(kv, dh, -1).sum(axis=(1, 2))
v = (w["v"] ** 2).reshape(kv, dh, -1).sum(axis=(1, 2))
o = per_head((w["o"] ** 2).sum(axis=0))
g = np.arange(heads) // group
mag_heads = np.sqrt(q + o + (k[g] + v[g]) / group)
mag_neurons = np.sqrt((w["up"] ** 2).sum(axis=1) + (w["gate"] ** 2).sum(axis=1) + (w["down"] ** 2).sum(axis=0))
# wanda-sp: sum over a structure's output-projection columns of |W_ij| * ||X_j||_2
wanda_heads = per_head((np.abs(w["o"]) * np.sqrt(s["oInSq"])).sum(axis=0))
wanda_neurons = (np.abs(w["down"]) * np.sqrt(s["mlpSq"])).sum(axis=0)
# flap: unbiased sample variance of each input feature times its squared column norm
def var(total, sq):
    return (sq - total ** 2 / n) / (n - 1)
flap_heads = per_head((w["o"] ** 2).sum(axis=0) * var(s["oInSum"], s["oInSq"]))
flap_neurons = (w["down"] ** 2).sum(axis=0) * var(s["mlpSum"], s["mlpSq"])
out = {
    "magnitude": [mag_heads, mag_neurons],
    "wanda-sp": [wanda_heads, wanda_neurons],
    "flap": [flap_heads, flap_neurons],
}
print(json.dumps({m: {"heads": h.tolist(), "neurons": nn.tolist()} for m, (h, nn) in out.items()}))
`;

type Expected = Record<string, { heads: number[]; neurons: number[] }>;
let fromNumpy: Expected;

before(async () => {
  const { tokens, headL1, neuronAbs, oInSum, oInSq, mlpSum, mlpSq } = STATS;
  fromNumpy = JSON.parse(await runPython(['-c', NUMPY, JSON.stringify(W), JSON.stringify({ tokens, headL1, neuronAbs, oInSum, oInSq, mlpSum, mlpSq })])) as Expected;
});

/** Value by value, to float32-input precision (the weights are exact in float32). */
function assertScores(actual: LayerScores, expected: { heads: number[]; neurons: number[] }): void {
  assert.equal(actual.heads.length, HEADS);
  assert.equal(actual.neurons.length, INTERMEDIATE);
  const close = (a: Float64Array, e: number[], what: string) =>
    e.forEach((x, i) => assert.ok(Math.abs(a[i] - x) <= 1e-9 * Math.max(1, Math.abs(x)), `${what}[${i}]: ${a[i]} != ${x} (all: ${Array.from(a)} vs ${e})`));
  close(actual.heads, expected.heads, 'heads');
  close(actual.neurons, expected.neurons, 'neurons');
}

test('the registry holds the six methods, each found by name', () => {
  assert.deepEqual(METHODS.map((m) => m.name), ['amp', 'reversed', 'random', 'magnitude', 'wanda-sp', 'flap']);
  for (const m of METHODS) assert.equal(methodByName(m.name), m);
});

describe('calibration-based scores are the AMP-SPEC statistics, as computed by hand', () => {
  test('amp: a head scores its mean output L1 norm, a neuron its mean |activation|', () => {
    assertScores(methodByName('amp').score(context()), { heads: [0.75, 2.5], neurons: [1.25, 0.5, 3] });
  });
  test('reversed: the AMP scores negated, so the most important structures go first', () => {
    assertScores(methodByName('reversed').score(context()), { heads: [-0.75, -2.5], neurons: [-1.25, -0.5, -3] });
  });
});

describe('weight-based scores agree with numpy', () => {
  for (const name of ['magnitude', 'wanda-sp', 'flap']) {
    test(name, () => {
      const expected = fromNumpy[name];
      // The fixture must tell structures apart, or a permutation would pass.
      assert.equal(new Set(expected.heads).size, HEADS, `${name}: distinct head scores`);
      assert.equal(new Set(expected.neurons).size, INTERMEDIATE, `${name}: distinct neuron scores`);
      assertScores(methodByName(name).score(context()), expected);
    });
  }

  test('magnitude by hand for head 0: q rows 0-1, o columns 0-1, half of KV head 0', () => {
    const sq = (rows: number[][]) => rows.flat().reduce((a, x) => a + x * x, 0);
    const q = sq(W.q.slice(0, 2));
    const o = sq(W.o.map((row) => row.slice(0, 2)));
    const kv = sq(W.k) + sq(W.v);
    assert.ok(Math.abs(methodByName('magnitude').score(context()).heads[0] - Math.sqrt(q + o + kv / 2)) < 1e-9);
  });

  test('flap: a feature seen on fewer than 2 tokens has no variance, so it scores 0', () => {
    const ctx = context();
    ctx.stats.tokens = 1;
    const s = methodByName('flap').score(ctx);
    assert.deepEqual([...s.heads, ...s.neurons], [0, 0, 0, 0, 0]);
  });
});

describe('random', () => {
  const random = methodByName('random');
  test('one score in [0, 1) per structure, all different, the same for the same seed and layer', () => {
    const s = random.score(context(0, 3));
    assert.equal(s.heads.length, HEADS);
    assert.equal(s.neurons.length, INTERMEDIATE);
    const all = [...s.heads, ...s.neurons];
    for (const x of all) assert.ok(x >= 0 && x < 1, `${x} outside [0, 1)`);
    assert.equal(new Set(all).size, all.length);
    assert.deepEqual(random.score(context(0, 3)), s);
  });
  test('another seed or another layer draws other scores', () => {
    const base = random.score(context(0, 3));
    assert.notDeepEqual(random.score(context(0, 4)).neurons, base.neurons);
    assert.notDeepEqual(random.score(context(1, 3)).neurons, base.neurons);
  });
  test('random and magnitude read no calibration data; the others do', () => {
    assert.deepEqual(METHODS.filter((m) => !m.needsCalibration).map((m) => m.name), ['random', 'magnitude']);
  });
});
