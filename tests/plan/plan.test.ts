import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { layerPlanner, planLayers, targetShapes } from '../../src/plan/plan.js';
import { planSummary } from '../../src/plan/summary.js';
import { shapeOf } from '../../src/plan/types.js';
import type { PlanOptions } from '../../src/plan/types.js';
import { llama2_7b, llama3_8b, pseudoRandomScores, throwsUserError } from './models.js';

describe('planLayers / targetShapes', () => {
  const spec = llama3_8b();
  const uniform: PlanOptions = { ratio: 0.2, allocation: { kind: 'uniform' }, gqa: 'group', align: 1, skipLayers: [] };
  const global: PlanOptions = { ...uniform, allocation: { kind: 'global' } };

  test('uniform: the plan has the dry-run shapes', () => {
    const shapes = targetShapes(spec, uniform);
    assert.deepEqual(shapes[0], { heads: 24, kvHeads: 6, intermediate: 11038 });
    assert.deepEqual(planLayers(spec, pseudoRandomScores(spec, 1), uniform).map(shapeOf), shapes);
  });

  test('global: removes f of the parameters with widths that differ by layer, each layer keeping its best neurons', () => {
    const scores = pseudoRandomScores(spec, 1);
    const plans = planLayers(spec, scores, global);
    const { achievedRatio, shapes } = planSummary(spec, plans);
    // Removal stops at the first structure that reaches f; one KV group of LLaMA-3-8B is < 0.1%.
    assert.ok(achievedRatio >= 0.2 && achievedRatio < 0.201, `achieved ${achievedRatio}`);
    assert.ok(new Set(shapes.map((s) => s.intermediate)).size > 1, 'global widths vary by layer (uniform ones would not)');
    assert.notDeepEqual(shapes, targetShapes(spec, uniform));
    plans.forEach((plan, layer) => {
      const kept = new Set(plan.neurons);
      const s = scores[layer].neurons;
      const keptMin = Math.min(...plan.neurons.map((n) => s[n]));
      const removedMax = Math.max(...Array.from(s).filter((_, n) => !kept.has(n)));
      assert.ok(keptMin > removedMax, `layer ${layer}: a removed neuron outscores a kept one`);
    });
    throwsUserError(() => targetShapes(spec, global), 'global allocation ranks the scores, so its layer widths are known only after scoring (no --dry-run)');
  });
});

describe('layerPlanner (one layer at a time, as scoring on propagated inputs plans)', () => {
  const base: PlanOptions = { ratio: 0.3, allocation: { kind: 'uniform' }, gqa: 'group', align: 1, skipLayers: [] };
  const cases: [string, () => ReturnType<typeof llama3_8b>, PlanOptions][] = [
    ['uniform, GQA groups', llama3_8b, base],
    ['uniform, GQA query heads, align 64, skipped layers', llama3_8b, { ...base, gqa: 'query', align: 64, skipLayers: [0, 31] }],
    ['uniform, MHA', llama2_7b, base],
    [
      'per-layer file',
      llama2_7b,
      { ...base, allocation: { kind: 'file', file: 'widths.json', layers: Array.from({ length: 32 }, (_, i) => ({ heads: 32 - (i % 5), intermediate: 11008 - 97 * i })) } },
    ],
  ];
  for (const [name, model, opts] of cases) {
    test(`${name}: each layer planned from its own scores equals planLayers over all`, () => {
      const spec = model();
      for (const seed of [1, 2]) {
        const scores = pseudoRandomScores(spec, seed);
        const plan = layerPlanner(spec, opts);
        assert.deepEqual(scores.map((s, layer) => plan(layer, s)), planLayers(spec, scores, opts));
      }
    });
  }

  test('global allocation cannot plan layer by layer', () => {
    throwsUserError(() => layerPlanner(llama3_8b(), { ...base, allocation: { kind: 'global' } }), "global allocation ranks every layer's scores together, so it cannot plan layer by layer (use uniform or a per-layer file)");
  });
});
