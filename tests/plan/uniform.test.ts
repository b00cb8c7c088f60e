import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { countParams } from '../../src/arch/params.js';
import { ratioForLayers } from '../../src/plan/ratio.js';
import { shapesSummary } from '../../src/plan/summary.js';
import { uniformShapes } from '../../src/plan/uniform.js';
import { llama2_7b, llama3_8b, throwsUserError } from './models.js';

const base = { gqa: 'group', align: 1, skipLayers: [] } as const;

describe('ratioForLayers (--layers N, the paper\'s --iteration N)', () => {
  test('N layers worth of LLaMA-2-7B, layer 0 norms included', () => {
    // P(layer 0) = 4·4096² + 3·4096·11008 + 2·4096 = 202,383,360
    // P_total = 32·202,383,360 + 2·32000·4096 + 4096 = 6,738,415,616
    const spec = llama2_7b();
    assert.equal(countParams(spec).total, 6_738_415_616);
    assert.equal(ratioForLayers(spec, 10), (10 * 202_383_360) / 6_738_415_616);
    assert.equal(ratioForLayers(spec, 1.5), (1.5 * 202_383_360) / 6_738_415_616);
  });

  test('bad N', () => {
    throwsUserError(() => ratioForLayers(llama2_7b(), 0), '--layers must be a positive number of layers, got 0');
    throwsUserError(() => ratioForLayers(llama2_7b(), 34), '--layers 34 asks for 102.1% of the model\'s parameters (it has 32 layers); it must stay below 100%');
  });
});

describe('uniform allocation, LLaMA-2-7B (the paper)', () => {
  test('N = 10: 22 heads and 7568 neurons per layer, 30.03%', () => {
    // p = 10·202,383,360 / (32·202,375,168) = 0.3125127; k_h = round(10.0004) = 10;
    // k_m = round(11008·p + 32·p − 10) = round(3440.14) = 3440 → 7568 kept.
    const spec = llama2_7b();
    const shapes = uniformShapes(spec, { ...base, ratio: ratioForLayers(spec, 10) });
    assert.ok(shapes.every((s) => s.heads === 22 && s.kvHeads === 22 && s.intermediate === 7568));
    // after = 32·(4·4096·22·128 + 3·4096·7568 + 2·4096) + 2·32000·4096 + 4096
    //       = 32·139,141,120 + 262,148,096 = 4,714,663,936
    const summary = shapesSummary(spec, shapes);
    assert.equal(summary.before.total, 6_738_415_616);
    assert.equal(summary.after.total, 4_714_663_936);
    assert.equal(summary.achievedRatio, 1 - 4_714_663_936 / 6_738_415_616);
    assert.equal((summary.achievedRatio * 100).toFixed(2), '30.03');
  });

  test('N = 7: 25 heads and 8600 neurons per layer, 21.0%', () => {
    // p = 0.2187589; k_h = round(7.0003) = 7; k_m = round(11040·p − 7) = round(2408.1) = 2408.
    // after = 32·(4·4096·25·128 + 3·4096·8600 + 8192) + 262,148,096 = 5,321,789,440
    const spec = llama2_7b();
    const shapes = uniformShapes(spec, { ...base, ratio: ratioForLayers(spec, 7) });
    assert.ok(shapes.every((s) => s.heads === 25 && s.intermediate === 8600));
    const summary = shapesSummary(spec, shapes);
    assert.equal(summary.after.total, 5_321_789_440);
    assert.equal((summary.achievedRatio * 100).toFixed(1), '21.0');
  });

  test('query mode on multi-head attention is the paper too', () => {
    const spec = llama2_7b();
    const ratio = ratioForLayers(spec, 10);
    assert.deepEqual(uniformShapes(spec, { ...base, gqa: 'query', ratio }), uniformShapes(spec, { ...base, ratio }));
  });

  test('skipped layers keep everything; the others carry their share', () => {
    // p = 10·202,383,360 / (30·202,375,168) = 0.3333468; k_h = round(10.667) = 11;
    // k_m = round(11040·p − 11) = round(3669.15) = 3669 → 7339 kept.
    const spec = llama2_7b();
    const shapes = uniformShapes(spec, { ...base, ratio: ratioForLayers(spec, 10), skipLayers: [0, 31] });
    assert.deepEqual(shapes[0], { heads: 32, kvHeads: 32, intermediate: 11008 });
    assert.deepEqual(shapes[31], { heads: 32, kvHeads: 32, intermediate: 11008 });
    assert.ok(shapes.slice(1, 31).every((s) => s.heads === 21 && s.intermediate === 7339));
    // removed = 30·(4·4096·11·128 + 3·4096·3669) = 30·68,153,344 = 2,044,600,320
    assert.equal(shapesSummary(spec, shapes).before.total - shapesSummary(spec, shapes).after.total, 2_044_600_320);
  });

  test('align rounds the kept neurons to the nearest multiple', () => {
    const spec = llama2_7b();
    const ratio = ratioForLayers(spec, 10);
    assert.ok(uniformShapes(spec, { ...base, ratio, align: 64 }).every((s) => s.heads === 22 && s.intermediate === 7552));
    assert.ok(uniformShapes(spec, { ...base, ratio, align: 3 }).every((s) => s.intermediate === 7569));
    // skipped layers are not aligned: untouched means untouched
    assert.equal(uniformShapes(spec, { ...base, ratio, align: 64, skipLayers: [5] })[5].intermediate, 11008);
  });
});

describe('uniform allocation, GQA (LLaMA-3-8B) at ratio 0.2', () => {
  // P_layer = 2·4096² + 2·1024·4096 + 3·4096·14336 = 218,103,808 (+ 8192 norms)
  // P_total = 32·218,112,000 + 2·128256·4096 + 4096 = 8,030,261,248
  // p = 0.2·8,030,261,248 / (32·218,103,808) = 0.2301163
  test('group mode removes whole KV groups', () => {
    // g = round(8p) = round(1.84) = 2 groups → k_h = 8; k_m = round(14336p + 32p − 8) = 3298 → 11038
    const spec = llama3_8b();
    const shapes = uniformShapes(spec, { ...base, ratio: 0.2 });
    assert.ok(shapes.every((s) => s.heads === 24 && s.kvHeads === 6 && s.intermediate === 11038));
    assert.ok(shapes.every((s) => s.heads % s.kvHeads === 0));
    // after = 32·(2·4096·24·128 + 2·6·128·4096 + 3·4096·11038 + 8192) + 1,050,677,248 = 6,397,890,560
    const summary = shapesSummary(spec, shapes);
    assert.equal(summary.before.total, 8_030_261_248);
    assert.equal(summary.after.total, 6_397_890_560);
    assert.equal(summary.after.total, countParams(spec.withLayers(shapes)).total);
    assert.equal((summary.achievedRatio * 100).toFixed(2), '20.33');
  });

  test('query mode removes the same query heads from every group and keeps all KV heads', () => {
    // q = round(4p) = round(0.92) = 1 per group → k_h = 8; same neuron count as group mode
    const spec = llama3_8b();
    const shapes = uniformShapes(spec, { ...base, gqa: 'query', ratio: 0.2 });
    assert.ok(shapes.every((s) => s.heads === 24 && s.kvHeads === 8 && s.intermediate === 11038));
    assert.ok(shapes.every((s) => s.heads % s.kvHeads === 0));
    // the K/V heads stay: 2·(8−6)·128·4096 = 2,097,152 more per layer than group mode
    const summary = shapesSummary(spec, shapes);
    assert.equal(summary.after.total, 6_397_890_560 + 32 * 2_097_152);
    assert.equal(summary.after.attention, 32 * (2 * 4096 * 24 * 128 + 2 * 8 * 128 * 4096));
  });
});

describe('uniform allocation, bad input', () => {
  test('a ratio that removes every head says so and names the limit', () => {
    // LLaMA-2-7B: p = 0.95·6,738,415,616 / 6,476,005,376 = 0.9885 → round(31.6) = 32 of 32
    throwsUserError(
      () => uniformShapes(llama2_7b(), { ...base, ratio: 0.95 }),
      '--ratio 0.95 would remove every attention head of layer 0 (needs 32 of 32); the most this model allows is ~0.94',
    );
    // query mode, groups of 4: round(4p) reaches 4 already at p = 0.875
    throwsUserError(
      () => uniformShapes(llama3_8b(), { ...base, gqa: 'query', ratio: 0.8 }),
      '--ratio 0.8 would remove every attention head of layer 0 (needs 32 of 32); the most this model allows is ~0.76',
    );
    throwsUserError(
      () => uniformShapes(llama2_7b(), { ...base, ratio: 0.5, skipLayers: Array.from({ length: 30 }, (_, i) => i) }),
      /^--ratio 0\.5 would remove every attention head of layer 30 \(needs \d+ of 32\); the most this model allows with these --skip-layers is ~0\.0\d$/,
    );
  });

  test('the allowed maximum is really allowed', () => {
    assert.equal(uniformShapes(llama2_7b(), { ...base, ratio: 0.94 })[0].heads, 1);
  });

  test('flags', () => {
    const spec = llama2_7b();
    throwsUserError(() => uniformShapes(spec, { ...base, ratio: 0 }), '--ratio must be between 0 and 1 (exclusive), got 0');
    throwsUserError(() => uniformShapes(spec, { ...base, ratio: 1 }), '--ratio must be between 0 and 1 (exclusive), got 1');
    throwsUserError(() => uniformShapes(spec, { ...base, ratio: Number.NaN }), '--ratio must be between 0 and 1 (exclusive), got NaN');
    throwsUserError(() => uniformShapes(spec, { ...base, ratio: 0.2, align: 0 }), '--align must be a positive integer, got 0');
    throwsUserError(() => uniformShapes(spec, { ...base, ratio: 0.2, align: 1.5 }), '--align must be a positive integer, got 1.5');
    throwsUserError(
      () => uniformShapes(spec, { ...base, ratio: 0.2, skipLayers: [32] }),
      '--skip-layers: layer 32 does not exist (the model has 32 layers, 0-31)',
    );
    throwsUserError(
      () => uniformShapes(spec, { ...base, ratio: 0.2, skipLayers: [-1] }),
      '--skip-layers: layer -1 does not exist (the model has 32 layers, 0-31)',
    );
    throwsUserError(
      () => uniformShapes(spec, { ...base, ratio: 0.2, skipLayers: Array.from({ length: 32 }, (_, i) => i) }),
      '--skip-layers skips all 32 layers; nothing is left to prune',
    );
  });
});
