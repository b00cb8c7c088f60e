/**
 * Each dequantiser against gguf-py's numpy implementation (gguf.quants.dequantize, which
 * transformers' GGUF loader uses) on random blocks: bit-identical float32, scales of every sign
 * and subnormal ones included. Also the q/k row un-permutation against its definition.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { unpermuteRows } from '../../src/convert/tensor-bytes.js';
import { SUPPORTED_TYPE_NAMES, dequantize } from '../../src/io/gguf/dequantize.js';
import { ggmlTypeByName } from '../../src/io/gguf/ggml-types.js';
import { fixturePath, ggufFixtures, readFloat32 } from './helpers.js';

const manifest = await ggufFixtures();

test('every supported non-F32 type has reference blocks', () => {
  assert.deepEqual([...manifest.dequant_types].sort(), SUPPORTED_TYPE_NAMES.filter((name) => name !== 'F32').sort());
});

for (const name of manifest.dequant_types) {
  test(`dequantize ${name} equals gguf.quants.dequantize bit for bit`, async () => {
    const type = ggmlTypeByName(name);
    assert.ok(type);
    const bytes = new Uint8Array(await readFile(fixturePath('dequant', `${name}.bin`)));
    const expected = await readFloat32(fixturePath('dequant', `${name}.f32`));
    const ours = dequantize(bytes, type, 'test', name);
    assert.equal(ours.length, expected.length);
    const oursBits = new Uint32Array(ours.buffer, ours.byteOffset, ours.length);
    const expectedBits = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
    const first = oursBits.findIndex((bits, i) => bits !== expectedBits[i]);
    assert.equal(first, -1, `element ${first}: ours ${ours[first]}, gguf-py ${expected[first]}`);
  });
}

test('block types dequantize 4 M values well within a second or so', (t) => {
  for (const name of ['Q4_K', 'Q6_K', 'Q4_1', 'Q8_0']) {
    const type = ggmlTypeByName(name);
    assert.ok(type);
    const blocks = (1 << 22) / type.blockSize; // 4 M values
    const bytes = new Uint8Array(blocks * type.typeSize).map((_, i) => (i * 2654435761) >>> 24);
    const start = performance.now();
    const values = dequantize(bytes, type, 'test', name);
    const seconds = (performance.now() - start) / 1000;
    t.diagnostic(`${name}: ${(values.length / seconds / 1e6).toFixed(0)} M values/s`);
    assert.ok(seconds < 5, `${name} took ${seconds.toFixed(1)} s for 4 M values`);
  }
});

test('unpermuteRows inverts llama.cpp LlamaModel.permute (per head, rows of any width)', () => {
  const heads = 3;
  const half = 4;
  const rows = heads * 2 * half;
  const width = 5;
  // HF rows hold their own index; permute as convert_hf_to_gguf.py does: GGUF row h·2·half + 2d + j = HF row h·2·half + j·half + d.
  const gguf = new Uint8Array(rows * width);
  for (let h = 0; h < heads; h++) {
    for (let d = 0; d < half; d++) {
      for (let j = 0; j < 2; j++) gguf.fill(h * 2 * half + j * half + d, (h * 2 * half + 2 * d + j) * width, (h * 2 * half + 2 * d + j + 1) * width);
    }
  }
  const hf = unpermuteRows(gguf, rows, heads);
  for (let r = 0; r < rows; r++) assert.deepEqual([...hf.subarray(r * width, (r + 1) * width)], new Array(width).fill(r));
});
