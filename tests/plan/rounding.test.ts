import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alignKept, roundHalfEven } from '../../src/plan/rounding.js';

describe('roundHalfEven (Python round)', () => {
  test('exact halves go to the even integer', () => {
    assert.deepEqual([0.5, 1.5, 2.5, 3.5, 4.5, 10.5, 11.5].map(roundHalfEven), [0, 2, 2, 4, 4, 10, 12]);
    assert.deepEqual([-0.5, -1.5, -2.5].map(roundHalfEven).map((x) => x + 0), [0, -2, -2]);
  });

  test('everything else to the nearest', () => {
    assert.deepEqual([0.49999999999999994, 0.5000000000000001, 2.675, 3440.14, 7.0003, -1.2].map(roundHalfEven), [0, 1, 3, 3440, 7, -1]);
    assert.equal(roundHalfEven(5), 5);
  });
});

describe('alignKept', () => {
  test('1 leaves the width alone', () => assert.equal(alignKept(7568, 11008, 1), 7568));
  test('nearest multiple; a tie keeps more', () => {
    assert.equal(alignKept(7568, 11008, 64), 7552); // 7568 / 64 = 118.25
    assert.equal(alignKept(7600, 11008, 64), 7616); // 118.75
    assert.equal(alignKept(7584, 11008, 64), 7616); // 118.5: the tie keeps more
  });
  test('at least one multiple, at most the full width', () => {
    assert.equal(alignKept(3, 100, 8), 8);
    assert.equal(alignKept(99, 100, 64), 100); // 128 would exceed the layer
    assert.equal(alignKept(5, 6, 8), 6);
  });
});
