import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareCodePoints, stableJson } from '../../src/export/json.js';

describe('stableJson', () => {
  test('sorts keys at every level, indents by two spaces, ends with a newline', () => {
    const text = stableJson({ b: 1, a: { d: [true, null], c: 'x' }, e: [], f: {} });
    assert.equal(text, '{\n  "a": {\n    "c": "x",\n    "d": [\n      true,\n      null\n    ]\n  },\n  "b": 1,\n  "e": [],\n  "f": {}\n}\n');
  });

  test('keeps integer-like keys in string order (a JS object would put them first)', () => {
    assert.equal(stableJson({ b: 0, '10': 1, '9': 2 }), '{\n  "10": 1,\n  "9": 2,\n  "b": 0\n}\n');
  });

  test('escapes non-ASCII like Python ensure_ascii, control characters like JSON.stringify', () => {
    assert.equal(stableJson('é😀\n"'), '"\\u00e9\\ud83d\\ude00\\n\\""\n');
  });

  test('leaves out undefined members, as JSON.stringify does', () => {
    assert.equal(stableJson({ a: undefined, b: 1 }), '{\n  "b": 1\n}\n');
  });

  test('refuses values JSON cannot hold, naming where they are', () => {
    assert.throws(() => stableJson({ scores: [1, NaN] }), /\$\.scores\[1\] is NaN/);
    assert.throws(() => stableJson({ when: new Date(0) }), /\$\.when is not a plain object/);
    assert.throws(() => stableJson({ n: 1n }), /\$\.n is not a plain object/);
  });

  test('is deterministic whatever the insertion order', () => {
    assert.equal(stableJson({ x: 1, y: { p: 1, q: 2 } }), stableJson({ y: { q: 2, p: 1 }, x: 1 }));
  });
});

describe('compareCodePoints', () => {
  test('orders by code point, as Python sorts str (UTF-16 order differs above U+FFFF)', () => {
    const keys = ['\u{1F600}', '\uFF61', 'b', 'a', 'ab'];
    assert.deepEqual([...keys].sort(compareCodePoints), ['a', 'ab', 'b', '\uFF61', '\u{1F600}']);
  });
});
