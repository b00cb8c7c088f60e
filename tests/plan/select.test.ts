import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UserError } from '../../src/errors.js';
import { selectUniform } from '../../src/plan/select.js';
import { planSummary } from '../../src/plan/summary.js';
import { shapeOf } from '../../src/plan/types.js';
import { uniformShapes } from '../../src/plan/uniform.js';
import { llama3_8b, pseudoRandomScores, scores, tinyLlama } from './models.js';

/** 4 query heads; kvHeads 4 = multi-head attention, 2 = groups {0,1} and {2,3}. */
const tiny = (kvHeads: number) =>
  tinyLlama({ num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: kvHeads, hidden_size: 16, intermediate_size: 8 });

describe('selectUniform', () => {
  test('multi-head attention keeps the highest-scored heads and neurons, indices ascending', () => {
    const spec = tiny(4);
    const [plan] = selectUniform(
      spec,
      [{ heads: 2, kvHeads: 2, intermediate: 5 }],
      [scores([0.5, 0.1, 0.9, 0.3], [5, 1, 4, 2, 8, 0, 7, 3])],
      'group',
    );
    assert.deepEqual(plan, { heads: [0, 2], kvHeads: [0, 2], neurons: [0, 2, 4, 6, 7] });
  });

  test('group mode ranks KV groups by the mean of their query heads', () => {
    // group 0 = heads {0, 1}: mean 0.45 (though head 0 is the best head); group 1 = {2, 3}: mean 0.5
    const [plan] = selectUniform(tiny(2), [{ heads: 2, kvHeads: 1, intermediate: 8 }], [scores([0.9, 0.0, 0.5, 0.5], [1, 1, 1, 1, 1, 1, 1, 1])], 'group');
    assert.deepEqual(plan.heads, [2, 3]);
    assert.deepEqual(plan.kvHeads, [1]);
  });

  test('query mode drops the lowest query heads of every group and keeps all KV heads', () => {
    // group 0: head 1 is lowest; group 1: heads 2 and 3 tie, so the higher index (3) goes
    const [plan] = selectUniform(tiny(2), [{ heads: 2, kvHeads: 2, intermediate: 8 }], [scores([0.9, 0.0, 0.5, 0.5], [1, 1, 1, 1, 1, 1, 1, 1])], 'query');
    assert.deepEqual(plan.heads, [0, 2]);
    assert.deepEqual(plan.kvHeads, [0, 1]);
  });

  test('tie-break: among equal scores the higher index is pruned first', () => {
    const [plan] = selectUniform(tiny(4), [{ heads: 1, kvHeads: 1, intermediate: 5 }], [scores([2, 2, 2, 2], [0, 3, 3, 3, 3, 3, 3, 0])], 'group');
    assert.deepEqual(plan.heads, [0]);
    assert.deepEqual(plan.neurons, [1, 2, 3, 4, 5]); // 0 and 7 (lowest) go, then 6 among the tied 3s
  });

  test('a target shape equal to the layer keeps everything', () => {
    const [plan] = selectUniform(tiny(2), [{ heads: 4, kvHeads: 2, intermediate: 8 }], [scores([4, 3, 2, 1], [8, 7, 6, 5, 4, 3, 2, 1])], 'group');
    assert.deepEqual(plan, { heads: [0, 1, 2, 3], kvHeads: [0, 1], neurons: [0, 1, 2, 3, 4, 5, 6, 7] });
  });

  test('never removes every head or every neuron', () => {
    const s = [scores([1, 2, 3, 4], [1, 2, 3, 4, 5, 6, 7, 8])];
    assert.throws(() => selectUniform(tiny(4), [{ heads: 0, kvHeads: 0, intermediate: 4 }], s, 'group'), /at least one/);
    assert.throws(() => selectUniform(tiny(4), [{ heads: 2, kvHeads: 2, intermediate: 0 }], s, 'group'), /at least one/);
  });

  test('a target that breaks the GQA mode is a bug, not a silent choice', () => {
    const s = [scores([1, 2, 3, 4], [1, 2, 3, 4, 5, 6, 7, 8])];
    assert.throws(() => selectUniform(tiny(2), [{ heads: 3, kvHeads: 2, intermediate: 8 }], s, 'query'), /not reachable/);
    assert.throws(() => selectUniform(tiny(2), [{ heads: 2, kvHeads: 2, intermediate: 8 }], s, 'group'), /not reachable/);
  });

  test('non-finite scores are refused with the layer and index', () => {
    assert.throws(
      () => selectUniform(tiny(4), [{ heads: 4, kvHeads: 4, intermediate: 8 }], [scores([1, 2, 3, 4], [1, 2, Number.NaN, 4, 5, 6, 7, 8])], 'group'),
      (e: unknown) => e instanceof UserError && /^layer 0: the score of neuron 2 is NaN/.test(e.message),
    );
  });

  test('LLaMA-3-8B at 0.2: plans match the uniform shapes in both GQA modes, skipped layer whole', () => {
    const spec = llama3_8b();
    const all = pseudoRandomScores(spec, 7);
    for (const gqa of ['group', 'query'] as const) {
      const shapes = uniformShapes(spec, { ratio: 0.2, gqa, align: 1, skipLayers: [3] });
      const plans = selectUniform(spec, shapes, all, gqa);
      assert.deepEqual(plans.map(shapeOf), shapes);
      assert.equal(plans[3].heads.length, 32);
      assert.equal(plans[3].neurons.length, 14336);
      for (const p of plans) {
        assert.ok(p.heads.every((h, i) => i === 0 || h > p.heads[i - 1]), 'heads ascending');
        // every kept query head's KV head is kept (group mode) / all KV heads kept (query mode)
        if (gqa === 'group') assert.deepEqual([...new Set(p.heads.map((h) => Math.floor(h / 4)))], p.kvHeads);
        else assert.deepEqual(p.kvHeads, [0, 1, 2, 3, 4, 5, 6, 7]);
      }
      assert.ok(Math.abs(planSummary(spec, plans).achievedRatio - 0.2) < 0.01);
    }
  });
});
