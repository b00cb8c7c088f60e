/**
 * Cross-checks against the Python reference stack in .venv: files we write load in the official
 * `safetensors` package, files it writes load in ours, and our F16/BF16 rounding is bit-identical
 * to numpy's `astype(float16)` and torch's `.to(torch.bfloat16)`.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { fromFloat32 } from '../../src/io/dtype.js';
import { SafetensorsFile, writeSafetensors } from '../../src/io/safetensors.js';
import { tempDir } from './helpers.js';

const PYTHON = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../.venv/bin/python');
const skip = existsSync(PYTHON) ? false : `no Python venv at ${PYTHON} (CI creates it): skipping the Python cross-checks`;

/** Equal bf16 bit patterns, except that any NaN matches any NaN (torch's CPU kernel writes 0xFFFF). */
function assertSameBf16(actual: Uint8Array, expected: Uint8Array): void {
  const a = new Uint16Array(actual.buffer, actual.byteOffset, actual.byteLength / 2);
  const b = new Uint16Array(expected.buffer, expected.byteOffset, expected.byteLength / 2);
  assert.equal(a.length, b.length);
  const isNaN = (h: number): boolean => (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && !(isNaN(a[i]) && isNaN(b[i]))) {
      assert.fail(`bf16 element ${i}: 0x${a[i].toString(16)} != 0x${b[i].toString(16)}`);
    }
  }
}

async function runPython(script: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(PYTHON, ['-c', script, ...args], { timeout: 180_000 });
  return stdout;
}

/** Edge cases (ties, subnormals, overflow, signed zeros, inf, quiet NaNs) plus random floats. */
function testValues(): Float32Array {
  const edges = [
    0, -0, 1, -1, 0.1, 1 / 3, 65504, 65519.99, 65520, 70000, -1e9, 3.4e38, 2 ** -14, 2 ** -24, 2 ** -25,
    1.5 * 2 ** -24, 2 ** -14 - 2 ** -25, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1e-40, -1e-45,
    Infinity, -Infinity, NaN,
  ];
  const values = new Float32Array(20_000);
  values.set(edges);
  const bits = new Uint32Array(values.buffer);
  bits[edges.length] = 0xffc00000; // negative quiet NaN
  let seed = 7;
  for (let i = edges.length + 1; i < bits.length; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const exponent = 95 + (seed % 50); // 2^-32 .. 2^17: underflow through overflow for f16
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const mantissa = i % 3 === 0 ? seed & 0x7f0000 : seed & 0x7fffff; // some exact ties
    bits[i] = ((seed >>> 31) << 31) | (exponent << 23) | mantissa;
  }
  return values;
}

const CHECK_OUR_FILE = `
import sys, json, numpy as np, torch
from safetensors import safe_open
from safetensors.torch import load_file
from safetensors.numpy import load_file as np_load_file
ours, ours_no_bf16, values_path = sys.argv[1:4]
x = np.fromfile(values_path, dtype='<f4')
t = load_file(ours)
n = np_load_file(ours_no_bf16)
with safe_open(ours, 'pt') as f:
    metadata = f.metadata()
def same_bits(a, b):
    return bool(np.array_equal(a.view(np.uint8), b.view(np.uint8)))
def same_bf16(a, b):
    # torch's vectorized CPU kernel writes NaN as 0xFFFF, ours as 0x7FC0 (c10's scalar rule).
    a, b = a.float().numpy(), b.float().numpy()
    nan = np.isnan(a)
    return bool(np.array_equal(nan, np.isnan(b))) and same_bits(a[~nan], b[~nan])
f16_ref = x.astype(np.float16)
print(json.dumps({
    'metadata': metadata,
    'names': sorted(t),
    'shapes': {k: list(v.shape) for k, v in t.items()},
    'f32': same_bits(t['f32'].numpy(), x) and same_bits(n['f32'], x),
    'f16': same_bits(t['f16'].numpy(), f16_ref) and same_bits(n['f16'], f16_ref),
    'bf16': same_bf16(t['bf16'], torch.from_numpy(x).to(torch.bfloat16)),
    'ids': t['ids'].tolist(),
}))
`;

const WRITE_PYTHON_FILE = `
import sys, numpy as np, torch
from safetensors.torch import save_file
values_path, out_path, f16_bits_path, bf16_bits_path = sys.argv[1:5]
x = torch.from_numpy(np.fromfile(values_path, dtype='<f4'))
save_file({
    'f32': x.reshape(100, -1), 'f16': x.to(torch.float16), 'bf16': x.to(torch.bfloat16),
    'ids': torch.arange(5, dtype=torch.int64),
}, out_path, metadata={'format': 'pt', 'source': 'python'})
x.numpy().astype(np.float16).tofile(f16_bits_path)
x.to(torch.bfloat16).view(torch.int16).numpy().tofile(bf16_bits_path)
`;

describe('Python safetensors / numpy / torch cross-checks', { skip }, () => {
  test('our file loads in Python safetensors with identical values and metadata', async () => {
    const dir = await tempDir();
    const values = testValues();
    const valuesPath = path.join(dir, 'values.f32');
    await writeFile(valuesPath, fromFloat32(values, 'F32'));
    const ids = new BigInt64Array([3n, -1n, 1n << 40n]);
    const common = [
      { name: 'f32', dtype: 'F32' as const, shape: [values.length], data: fromFloat32(values, 'F32') },
      { name: 'f16', dtype: 'F16' as const, shape: [values.length], data: fromFloat32(values, 'F16') },
    ];
    const ours = path.join(dir, 'ours.safetensors');
    const oursNoBf16 = path.join(dir, 'ours-no-bf16.safetensors');
    await writeSafetensors(
      ours,
      [
        ...common,
        { name: 'bf16', dtype: 'BF16', shape: [values.length], data: fromFloat32(values, 'BF16') },
        { name: 'ids', dtype: 'I64', shape: [3], data: new Uint8Array(ids.buffer) },
      ],
      { format: 'pt', tool: 'amp-prune' },
    );
    await writeSafetensors(oursNoBf16, common); // numpy has no bfloat16
    const report: unknown = JSON.parse(await runPython(CHECK_OUR_FILE, [ours, oursNoBf16, valuesPath]));
    assert.deepEqual(report, {
      metadata: { format: 'pt', tool: 'amp-prune' },
      names: ['bf16', 'f16', 'f32', 'ids'],
      shapes: { f32: [values.length], f16: [values.length], bf16: [values.length], ids: [3] },
      f32: true,
      f16: true, // bit-identical to numpy astype(float16)
      bf16: true, // bit-identical to torch .to(bfloat16), NaNs aside
      ids: [3, -1, 2 ** 40],
    });
  });

  test('a file written by Python safetensors reads in ours; our rounding matches numpy and torch bit for bit', async () => {
    const dir = await tempDir();
    const values = testValues();
    const [valuesPath, filePath, f16Path, bf16Path] = ['values.f32', 'py.safetensors', 'ref.f16', 'ref.bf16'].map((f) => path.join(dir, f));
    await writeFile(valuesPath, fromFloat32(values, 'F32'));
    await runPython(WRITE_PYTHON_FILE, [valuesPath, filePath, f16Path, bf16Path]);

    const numpyF16 = new Uint8Array(await readFile(f16Path));
    const torchBf16 = new Uint8Array(await readFile(bf16Path));
    assert.deepEqual(fromFloat32(values, 'F16'), numpyF16);
    assertSameBf16(fromFloat32(values, 'BF16'), torchBf16);

    const st = await SafetensorsFile.open(filePath);
    try {
      assert.deepEqual(st.metadata, { format: 'pt', source: 'python' });
      assert.deepEqual(st.info('f32').shape, [100, values.length / 100]);
      assert.deepEqual(new Uint8Array((await st.readFloat32('f32')).buffer), new Uint8Array(values.buffer));
      assert.deepEqual(await st.readRaw('f16'), numpyF16);
      assert.deepEqual(await st.readRaw('bf16'), torchBf16);
      // Widening is exact, so the bits are the bf16 bits shifted up, NaN payloads included.
      const widened = new Uint32Array((await st.readFloat32('bf16')).buffer);
      const torchBits = new Uint16Array(torchBf16.buffer, torchBf16.byteOffset, torchBf16.byteLength / 2);
      assert.ok(widened.every((bits, i) => bits === torchBits[i] * 65536));
      assert.deepEqual([...new BigInt64Array((await st.readRaw('ids')).buffer)], [0n, 1n, 2n, 3n, 4n]);
    } finally {
      await st.close();
    }
  });
});
