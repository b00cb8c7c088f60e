import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planLayers, targetShapes } from '../../src/plan/plan.js';
import { selectGlobal } from '../../src/plan/global.js';
import { shapeOf } from '../../src/plan/types.js';
import type { PlanOptions } from '../../src/plan/types.js';
import { llama3_8b, pseudoRandomScores, throwsUserError } from './models.js';

describe('planLayers / targetShapes', () => {
  const spec = llama3_8b();
  const uniform: PlanOptions = { ratio: 0.2, allocation: { kind: 'uniform' }, gqa: 'group', align: 1, skipLayers: [] };
  const global: PlanOptions = { ...uniform, allocation: { kind: 'global' } };

  test('uniform: the plan has the dry-run shapes', () => {
    const shapes = targetShapes(spec, uniform);
    assert.deepEqual(shapes[0], { heads: 24, kvHeads: 6, intermediate: 11038 });
    assert.deepEqual(planLayers(spec, pseudoRandomScores(spec, 1), uniform).map(shapeOf), shapes);
  });

  test('global: dispatched to selectGlobal; no dry-run shapes', () => {
    const scores = pseudoRandomScores(spec, 1);
    assert.deepEqual(planLayers(spec, scores, global), selectGlobal(spec, scores, global));
    throwsUserError(() => targetShapes(spec, global), 'global allocation ranks the scores, so its layer widths are known only after scoring (no --dry-run)');
  });
});
