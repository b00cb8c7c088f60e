import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { countParams } from '../../src/arch/params.js';
import { structureCosts, unitCost } from '../../src/plan/cost.js';
import { unitLayout } from '../../src/plan/attention-units.js';
import { selectGlobal } from '../../src/plan/global.js';
import { planSummary } from '../../src/plan/summary.js';
import type { GqaMode } from '../../src/plan/types.js';
import { llama3_8b, phi2, pseudoRandomScores, scores, throwsUserError, tinyLlama } from './models.js';

/**
 * Tiny LLaMA: 2 layers, hidden 8, 2 heads of dim 4 (MHA), 4 neurons, vocab 4, untied.
 * Costs: a head (with its K/V head) 4·8·4 = 128, a neuron 3·8 = 24.
 * P_total = 2·(256 attention + 96 MLP + 16 norms) + 32 embed + 32 lm_head + 8 final norm = 808.
 * Layer 0: head z = [−1, 1]; neuron scores [1, 2, 3, 10] → z = [−0.849, −0.566, −0.283, 1.697].
 * Layer 1: all scores equal → every z is 0.
 */
const tiny = () => tinyLlama();
const tinyScores = () => [scores([1, 2], [1, 2, 3, 10]), scores([3, 3], [5, 5, 5, 5])];
const opts = (ratio: number, extra: { gqa?: GqaMode; align?: number; skipLayers?: number[] } = {}) => ({
  ratio,
  gqa: extra.gqa ?? 'group',
  align: extra.align ?? 1,
  skipLayers: extra.skipLayers ?? [],
});

describe('selectGlobal', () => {
  test('the tiny model adds up by hand', () => {
    assert.equal(countParams(tiny()).total, 808);
  });

  test('removes the lowest z-scores across layers until the budget is met', () => {
    // budget 0.3·808 = 242.4: L0 head 0 (128), L0 neurons 0, 1, 2 (→ 200), then the z = 0 ties:
    // layer 1 before layer 0, neurons before heads, higher index first: L1 neuron 3 (224), neuron 2 (248 ≥ 242.4).
    const plans = selectGlobal(tiny(), tinyScores(), opts(0.3));
    assert.deepEqual(plans, [
      { heads: [1], kvHeads: [1], neurons: [3] },
      { heads: [0, 1], kvHeads: [0, 1], neurons: [0, 1] },
    ]);
    const removed = 808 - planSummary(tiny(), plans).after.total;
    assert.equal(removed, 248);
    assert.ok(removed >= 242.4 && removed - 24 < 242.4, 'one structure fewer would miss the budget');
  });

  test('keeps at least one head and one neuron per layer', () => {
    // budget 0.45·808 = 363.6: after 248, L1 neuron 1 (272); L1 neuron 0 would be its last: skipped; L1 head 1 (400).
    const plans = selectGlobal(tiny(), tinyScores(), opts(0.45));
    assert.deepEqual(plans[1], { heads: [0], kvHeads: [0], neurons: [0] });
    assert.deepEqual(plans[0], { heads: [1], kvHeads: [1], neurons: [3] });
    assert.equal(808 - planSummary(tiny(), plans).after.total, 400);
  });

  test('a budget beyond the per-layer minimums is refused', () => {
    // at most 2·(128 + 3·24) = 400 of 808 = 49.5%
    throwsUserError(
      () => selectGlobal(tiny(), tinyScores(), opts(0.6)),
      '--ratio 0.6 cannot be reached by global allocation: keeping one attention head group and one neuron per layer, it removes at most 49.5% of the parameters',
    );
  });

  test('skipped layers stay whole and the budget comes from the others', () => {
    // only layer 0: head 0 (128) then neurons 0 (152) and 1 (176 ≥ 0.2·808 = 161.6)
    const plans = selectGlobal(tiny(), tinyScores(), opts(0.2, { skipLayers: [1] }));
    assert.deepEqual(plans, [
      { heads: [1], kvHeads: [1], neurons: [2, 3] },
      { heads: [0, 1], kvHeads: [0, 1], neurons: [0, 1, 2, 3] },
    ]);
  });

  test('align is applied per layer afterwards', () => {
    // unaligned (ratio 0.3): layer 0 keeps 1 neuron, layer 1 keeps 2; align 2 → 2 and 2
    const plans = selectGlobal(tiny(), tinyScores(), opts(0.3, { align: 2 }));
    assert.deepEqual(plans[0].neurons, [2, 3]);
    assert.deepEqual(plans[1].neurons, [0, 1]);
  });

  test('z-scores make layers with different score scales comparable', () => {
    // Layer 1's scores are 1000× layer 0's with the same shape, so they pair up in the ranking.
    // P_total = 2·(256 + 192 + 16) + 72 = 1000; neuron z: n0 −1.43, n2 −1.06, heads −1, n4 −0.69.
    // Budget 0.4·1000 = 400 = both n0 (48) + both n2 (96) + both heads (352) + both n4 (400).
    const spec = tinyLlama({ intermediate_size: 8 });
    assert.equal(countParams(spec).total, 1000);
    const low = [0.1, 0.5, 0.2, 0.9, 0.3, 0.8, 0.4, 0.7];
    const plans = selectGlobal(spec, [scores([1, 2], low), scores([1000, 2000], low.map((x) => x * 1000))], opts(0.4));
    const expected = { heads: [1], kvHeads: [1], neurons: [1, 3, 5, 6, 7] };
    assert.deepEqual(plans, [expected, expected]);
  });

  for (const gqa of ['group', 'query'] as const) {
    test(`LLaMA-3-8B at 0.3, ${gqa} mode: budget met by the last structure, GQA shapes valid`, () => {
      const spec = llama3_8b();
      const plans = selectGlobal(spec, pseudoRandomScores(spec, 11), opts(0.3, { gqa, skipLayers: [0] }));
      const summary = planSummary(spec, plans);
      const budget = 0.3 * summary.before.total;
      const removed = summary.before.total - summary.after.total;
      const costs = structureCosts(spec, 1);
      const largest = Math.max(unitCost(costs, unitLayout(spec.layers[1], gqa)), costs.neuron);
      assert.ok(removed >= budget && removed - largest < budget);
      assert.deepEqual(plans[0].heads.length, 32);
      for (const [i, s] of summary.shapes.entries()) {
        assert.equal(s.heads % s.kvHeads, 0, `layer ${i}`);
        assert.equal(s.kvHeads, gqa === 'query' ? 8 : s.heads / 4, `layer ${i}`);
        assert.ok(s.heads >= 1 && s.intermediate >= 1);
      }
      // the pseudo-random scores grow with the layer index, yet standardised, every layer is pruned
      assert.ok(summary.shapes.slice(1).every((s) => s.intermediate < 14336));
    });
  }

  test('Phi-2: costs from its plain MLP with biases', () => {
    const spec = phi2();
    const plans = selectGlobal(spec, pseudoRandomScores(spec, 3), opts(0.1));
    const summary = planSummary(spec, plans);
    let expected = 0;
    for (const s of summary.shapes) expected += (32 - s.heads) * (409_680 + 409_760) + (10240 - s.intermediate) * 5121;
    assert.equal(summary.before.total - summary.after.total, expected);
    assert.ok(expected >= 0.1 * summary.before.total && expected - 819_440 < 0.1 * summary.before.total);
  });
});
