/**
 * The sampler's draws follow softmax(logits / T) restricted to the top-p nucleus: frequencies over
 * many draws against the closed-form distribution, tokens outside the nucleus never drawn, and
 * temperature 0 is the argmax.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeSampler } from '../../src/engine/sampling.js';

const LOGITS = Float32Array.from([2.0, 1.0, 0.5, -1.0, 0.0, 1.5]);
const DRAWS = 40000;

function frequencies(temperature: number, topP: number, seed: number): number[] {
  const sample = makeSampler({ temperature, topP, seed });
  const counts = new Array<number>(LOGITS.length).fill(0);
  for (let i = 0; i < DRAWS; i++) counts[sample(LOGITS)]++;
  return counts.map((c) => c / DRAWS);
}

/** softmax(logits / T) over `keep`, zero elsewhere. */
function expected(temperature: number, keep: readonly number[]): number[] {
  const w = Array.from(LOGITS, (x, i) => (keep.includes(i) ? Math.exp(x / temperature) : 0));
  const z = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / z);
}

test('temperature 0.7, no truncation: frequencies within 0.01 of softmax(logits / T)', () => {
  const got = frequencies(0.7, 1, 1);
  expected(0.7, [0, 1, 2, 3, 4, 5]).forEach((p, i) => assert.ok(Math.abs(got[i] - p) < 0.01, `token ${i}: ${got[i]} vs ${p}`));
});

test('top-p 0.8 at temperature 1 keeps the fewest most likely tokens holding 80% (ids 0, 5, 1) and renormalises', () => {
  // softmax(LOGITS): 0.386, 0.142, 0.086, 0.019, 0.052, 0.234 -> 0.386 + 0.234 = 0.620 < 0.8 <= 0.762 with id 1
  const got = frequencies(1, 0.8, 2);
  expected(1, [0, 5, 1]).forEach((p, i) => assert.ok(Math.abs(got[i] - p) < 0.01, `token ${i}: ${got[i]} vs ${p}`));
  assert.equal(got[2] + got[3] + got[4], 0);
});

test('temperature 0 is the argmax; a seed repeats its draws', () => {
  assert.equal(makeSampler({ temperature: 0, topP: 1, seed: 5 })(LOGITS), 0);
  const a = makeSampler({ temperature: 1, topP: 1, seed: 11 });
  const b = makeSampler({ temperature: 1, topP: 1, seed: 11 });
  assert.deepEqual(Array.from({ length: 50 }, () => a(LOGITS)), Array.from({ length: 50 }, () => b(LOGITS)));
});
