/**
 * Q8_0, Q4_0 and F16 encodings bit for bit against gguf-py (gguf.quants.quantize, numpy astype) on
 * awkward values: all-zero blocks, exact .5 ties after scaling, negatives, subnormals, huge and
 * tiny magnitudes, and random normals.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { encodeTensor } from '../../src/export/gguf/quantize.js';
import { runPython } from '../helpers/python.js';
import { tempDir } from './helpers.js';

const GGUF_PY = `
import sys, numpy as np, gguf
x = np.fromfile(sys.argv[1], dtype=np.float32).reshape(-1, 32)
gguf.quants.quantize(x, gguf.GGMLQuantizationType.Q8_0).tofile(sys.argv[2])
x.astype(np.float16).tofile(sys.argv[3])
gguf.quants.quantize(x, gguf.GGMLQuantizationType.Q4_0).tofile(sys.argv[4])
`;

function awkwardValues(): Float32Array {
  const blocks: number[][] = [];
  blocks.push(new Array(32).fill(0));
  blocks.push(Array.from({ length: 32 }, (_, i) => (i - 16) * 0.5)); // many .5 ties after scaling
  blocks.push(Array.from({ length: 32 }, (_, i) => (i % 2 ? -1 : 1) * (i + 1) * 127 / 32));
  blocks.push(Array.from({ length: 32 }, (_, i) => (i === 0 ? 1e-40 : 1e-45 * i))); // subnormals
  blocks.push(Array.from({ length: 32 }, (_, i) => (i - 15.5) * 2e37));
  blocks.push(Array.from({ length: 32 }, (_, i) => (i === 7 ? -65504 : 70000 * Math.sin(i))));
  blocks.push(Array.from({ length: 32 }, (_, i) => (i === 3 || i === 20 ? (i === 3 ? -2 : 2) : i / 31))); // equal magnitudes: Q4_0 takes the first one's sign
  blocks.push(Array.from({ length: 32 }, (_, i) => ((i % 16) - 8) * 0.25)); // values on Q4_0's grid and half-steps between
  let seed = 1;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let b = 0; b < 64; b++) {
    blocks.push(Array.from({ length: 32 }, () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random()) * 10 ** (b % 7 - 3)));
  }
  return Float32Array.from(blocks.flat());
}

test('Q8_0, Q4_0 and F16 bytes equal gguf-py\'s on awkward and random values', async () => {
  const dir = await tempDir();
  const values = awkwardValues();
  const input = path.join(dir, 'x.f32');
  await writeFile(input, new Uint8Array(values.buffer));
  await runPython(['-c', GGUF_PY, input, path.join(dir, 'q8.bin'), path.join(dir, 'f16.bin'), path.join(dir, 'q4.bin')]);
  assert.ok(Buffer.from(encodeTensor(values, 'Q8_0')).equals(await readFile(path.join(dir, 'q8.bin'))), 'Q8_0');
  assert.ok(Buffer.from(encodeTensor(values, 'Q4_0')).equals(await readFile(path.join(dir, 'q4.bin'))), 'Q4_0');
  assert.ok(Buffer.from(encodeTensor(values, 'F16')).equals(await readFile(path.join(dir, 'f16.bin'))), 'F16');
});
