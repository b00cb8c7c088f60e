import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mulberry32, randomBelow, sampleDistinct } from '../../src/calib/prng.js';

describe('the seeded PRNG', () => {
  test('gives the same floats in [0, 1) for the same seed on every run', () => {
    const draw = (seed: number) => Array.from({ length: 1000 }, mulberry32(seed));
    assert.deepEqual(draw(42), draw(42));
    assert.notDeepEqual(draw(42), draw(43));
    assert.ok(draw(42).every((x) => x >= 0 && x < 1));
  });

  test('matches the published mulberry32 (seed 0), so windows do not move between releases', () => {
    const random = mulberry32(0);
    assert.deepEqual(Array.from({ length: 3 }, () => Math.floor(random() * 4294967296)), [1144304738, 1416247, 958946056]);
  });

  test('is roughly uniform', () => {
    const random = mulberry32(1);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i += 1) counts[randomBelow(random, 10)] += 1;
    assert.ok(counts.every((count) => count > 9_500 && count < 10_500), counts.join(' '));
  });

  test('sampleDistinct draws distinct values in range', () => {
    const picks = sampleDistinct(mulberry32(5), 20, 20);
    assert.deepEqual([...picks].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
    assert.equal(new Set(sampleDistinct(mulberry32(5), 1000, 50)).size, 50);
  });
});
