import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ELEMENT_SIZE,
  elementSize,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
  fromFloat32,
  isDtype,
  isFloatDtype,
  toFloat32,
} from '../../src/io/dtype.js';

function widen(bits16: number, dtype: 'F16' | 'BF16'): number {
  return toFloat32(new Uint8Array([bits16 & 0xff, bits16 >>> 8]), dtype)[0];
}

describe('dtype names and sizes', () => {
  test('element sizes of the safetensors dtypes', () => {
    assert.deepEqual(
      [elementSize('F32'), elementSize('F16'), elementSize('BF16'), elementSize('F64')],
      [4, 2, 2, 8],
    );
    assert.deepEqual(
      [ELEMENT_SIZE.I64, ELEMENT_SIZE.I32, ELEMENT_SIZE.I16, ELEMENT_SIZE.I8, ELEMENT_SIZE.U8, ELEMENT_SIZE.BOOL],
      [8, 4, 2, 1, 1, 1],
    );
  });

  test('isDtype and isFloatDtype', () => {
    assert.ok(isDtype('BF16') && isDtype('BOOL') && isDtype('F8_E4M3'));
    assert.ok(!isDtype('bf16') && !isDtype('Q4') && !isDtype('toString') && !isDtype('__proto__'));
    assert.ok(isFloatDtype('F16') && !isFloatDtype('F64') && !isFloatDtype('I8'));
  });
});

describe('toFloat32', () => {
  test('F32 at an aligned offset is a zero-copy view', () => {
    const buffer = new ArrayBuffer(16);
    new Float32Array(buffer).set([1, 2, 3, 4]);
    const bytes = new Uint8Array(buffer, 4, 8);
    const values = toFloat32(bytes, 'F32');
    assert.deepEqual([...values], [2, 3]);
    assert.equal(values.buffer, buffer);
    assert.equal(values.byteOffset, 4);
  });

  test('F32 at an unaligned offset is copied with correct values', () => {
    const buffer = new Uint8Array(9);
    buffer.set(new Uint8Array(new Float32Array([1.5, -2.25]).buffer), 1);
    const values = toFloat32(buffer.subarray(1), 'F32');
    assert.deepEqual([...values], [1.5, -2.25]);
    assert.notEqual(values.buffer, buffer.buffer);
  });

  test('F16 and BF16 at an odd offset', () => {
    const buffer = new Uint8Array([0xaa, 0x00, 0x3c, 0x00, 0xc0]); // f16 1, -2
    assert.deepEqual([...toFloat32(buffer.subarray(1), 'F16')], [1, -2]);
    const bf = new Uint8Array([0xaa, 0x80, 0x3f, 0x00, 0xc0]); // bf16 1, -2
    assert.deepEqual([...toFloat32(bf.subarray(1), 'BF16')], [1, -2]);
  });

  test('rejects a byte count that is not a whole number of elements', () => {
    assert.throws(() => toFloat32(new Uint8Array(6), 'F32'), /6 bytes is not a whole number of F32 elements/);
    assert.throws(() => toFloat32(new Uint8Array(3), 'BF16'), /3 bytes/);
  });

  test('F16 widening of every bit pattern matches the IEEE binary16 definition', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const values = toFloat32(new Uint8Array(all.buffer), 'F16');
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const exponent = (h >>> 10) & 0x1f;
      const mantissa = h & 0x3ff;
      let expected: number;
      if (exponent === 0x1f) expected = mantissa ? NaN : sign * Infinity;
      else if (exponent === 0) expected = sign * mantissa * 2 ** -24;
      else expected = sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
      assert.ok(Object.is(values[h], expected), `f16 0x${h.toString(16)}: ${values[h]} != ${expected}`);
    }
  });

  test('BF16 widening is exact, NaN payloads included', () => {
    assert.equal(widen(0x3f80, 'BF16'), 1);
    assert.equal(widen(0xc049, 'BF16'), -3.140625);
    assert.equal(widen(0x7f80, 'BF16'), Infinity);
    assert.ok(Object.is(widen(0x8000, 'BF16'), -0));
    const nan = toFloat32(new Uint8Array([0x01, 0x7f]), 'BF16');
    assert.equal(new Uint32Array(nan.buffer)[0], 0x7f010000);
  });
});

describe('fromFloat32 to BF16 (torch semantics)', () => {
  const cases: [string, number, number][] = [
    ['one', 0x3f800000, 0x3f80],
    ['tie rounds down to even', 0x3f808000, 0x3f80],
    ['tie rounds up to even', 0x3f818000, 0x3f82],
    ['just above a tie rounds up', 0x3f808001, 0x3f81],
    ['just below a tie rounds down', 0x3f807fff, 0x3f80],
    ['largest float overflows to inf', 0x7f7fffff, 0x7f80],
    ['inf', 0x7f800000, 0x7f80],
    ['-inf', 0xff800000, 0xff80],
    ['-0', 0x80000000, 0x8000],
    ['subnormal tie to even zero', 0x00008000, 0x0000],
    ['subnormal tie to even up', 0x00018000, 0x0002],
    ['quiet NaN', 0x7fc00000, 0x7fc0],
    ['negative NaN with payload becomes torch canonical NaN', 0xffc12345, 0x7fc0],
    ['NaN whose payload is only in the low bits stays NaN', 0x7f800001, 0x7fc0],
  ];
  for (const [label, input, expected] of cases) {
    test(label, () => {
      assert.equal(f32BitsToBf16Bits(input), expected);
      const bytes = fromFloat32(new Float32Array(new Uint32Array([input]).buffer), 'BF16');
      assert.equal(bytes[0] | (bytes[1] << 8), expected);
    });
  }

  test('every BF16 value survives widen then narrow (NaN -> 0x7fc0)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = new Uint16Array(fromFloat32(toFloat32(new Uint8Array(all.buffer), 'BF16'), 'BF16').buffer);
    for (let h = 0; h < 65536; h++) {
      const isNaN = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
      assert.equal(back[h], isNaN ? 0x7fc0 : h, `bf16 0x${h.toString(16)}`);
    }
  });
});

describe('fromFloat32 to F16 (numpy semantics)', () => {
  /** A float32 given by value, or by bit pattern (for NaN payloads, subnormals and extremes). */
  type Input = number | { bits: number };
  const cases: [string, Input, number][] = [
    ['one', 1, 0x3c00],
    ['0.1', 0.1, 0x2e66],
    ['largest finite', 65504, 0x7bff],
    ['just below the overflow tie', 65519.99609375, 0x7bff],
    ['overflow tie rounds to inf', 65520, 0x7c00],
    ['far overflow', 1e6, 0x7c00],
    ['negative overflow', -1e6, 0xfc00],
    ['float32 max', { bits: 0x7f7fffff }, 0x7c00],
    ['smallest normal', 2 ** -14, 0x0400],
    ['largest subnormal rounding up to smallest normal (tie to even)', 2 ** -14 - 2 ** -25, 0x0400],
    ['smallest subnormal', 2 ** -24, 0x0001],
    ['half the smallest subnormal ties to zero', 2 ** -25, 0x0000],
    ['just above half the smallest subnormal', { bits: 0x33000001 }, 0x0001],
    ['subnormal tie 1.5 ulp rounds to even 2', 1.5 * 2 ** -24, 0x0002],
    ['subnormal tie 2.5 ulp rounds to even 2', 2.5 * 2 ** -24, 0x0002],
    ['tiny float32 subnormal to zero', { bits: 0x00000001 }, 0x0000],
    ['negative tiny to -0', { bits: 0x80000001 }, 0x8000],
    ['-0', -0, 0x8000],
    ['normal tie rounds down to even', 1 + 2 ** -11, 0x3c00],
    ['normal tie rounds up to even', 1 + 3 * 2 ** -11, 0x3c02],
    ['inf', Infinity, 0x7c00],
    ['-inf', -Infinity, 0xfc00],
    ['quiet NaN', { bits: 0x7fc00000 }, 0x7e00],
    ['negative NaN keeps its sign', { bits: 0xffc00000 }, 0xfe00],
    ['NaN with only low payload bits stays NaN', { bits: 0x7f800001 }, 0x7c01],
  ];
  for (const [label, input, expected] of cases) {
    test(label, () => {
      // Bit patterns go in through a Uint32Array: a NaN passed as a JS number may lose its payload.
      const values = typeof input === 'number'
        ? new Float32Array([input])
        : new Float32Array(new Uint32Array([input.bits]).buffer);
      const bytes = fromFloat32(values, 'F16');
      const actual = bytes[0] | (bytes[1] << 8);
      assert.equal(actual, expected, `got 0x${actual.toString(16)}`);
      assert.equal(f32BitsToF16Bits(new Uint32Array(values.buffer)[0]), expected);
    });
  }

  test('every F16 value survives widen then narrow bit-exactly (NaN payloads too)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = new Uint16Array(fromFloat32(toFloat32(new Uint8Array(all.buffer), 'F16'), 'F16').buffer);
    for (let h = 0; h < 65536; h++) assert.equal(back[h], h, `f16 0x${h.toString(16)}`);
  });

  test('random float32 values round to the nearest F16, ties to even (reference search)', () => {
    // Finite non-negative halves in increasing order: bit patterns 0..0x7bff.
    const halves = toFloat32(new Uint8Array(new Uint16Array(0x7c00).map((_, i) => i).buffer), 'F16');
    const reference = (x: number): number => {
      const magnitude = Math.abs(x);
      const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
      if (magnitude >= 65520) return sign | 0x7c00;
      let lo = 0;
      let hi = 0x7bff;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (halves[mid] <= magnitude) lo = mid;
        else hi = mid - 1;
      }
      if (lo === 0x7bff) return sign | lo; // between 65504 and 65520
      const below = magnitude - halves[lo];
      const above = halves[lo + 1] - magnitude;
      const nearest = below < above ? lo : above < below ? lo + 1 : lo % 2 === 0 ? lo : lo + 1;
      return sign | nearest;
    };
    let seed = 12345;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    const values = new Float32Array(200_000);
    const bits = new Uint32Array(values.buffer);
    for (let i = 0; i < bits.length; i++) {
      // Exponents 90..145 cover underflow, subnormals, normals and overflow; low mantissa bits
      // are forced to zero sometimes so that exact ties occur.
      const exponent = 90 + (random() % 56);
      let mantissa = random() & 0x7fffff;
      if (i % 4 === 0) mantissa &= ~0xfff;
      bits[i] = ((random() & 1) << 31) | (exponent << 23) | mantissa;
    }
    const out = new Uint16Array(fromFloat32(values, 'F16').buffer);
    for (let i = 0; i < values.length; i++) {
      assert.equal(out[i], reference(values[i]), `value ${values[i]} (bits 0x${bits[i].toString(16)})`);
    }
  });

  test('F32 output is a byte view of the input', () => {
    const values = new Float32Array([1, 2]);
    const bytes = fromFloat32(values, 'F32');
    assert.equal(bytes.buffer, values.buffer);
    assert.equal(bytes.byteLength, 8);
  });
});
