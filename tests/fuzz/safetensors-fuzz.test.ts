/**
 * Property-based test of the safetensors reader (src/io/safetensors.ts through TensorStore, as
 * every command opens a model): thousands of mutated files, byte-level and structural (headers
 * rewritten with hostile dtypes, shapes and offsets), each either read whole or refused with a
 * one-line UserError, quickly.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { isFloatDtype } from '../../src/io/dtype.js';
import { TensorStore } from '../../src/io/tensor-store.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { concat, fuzzParameters, mutatedBytes, readsOrRefusesCleanly, withScratch } from './helpers.js';

/** Open the folder as a model and read every tensor, raw and (for floats) as float32. */
async function readAll(dir: string): Promise<void> {
  const store = await TensorStore.open(dir);
  try {
    for (const name of store.names()) {
      const info = store.info(name);
      await store.readRaw(name);
      if (isFloatDtype(info.dtype)) await store.readFloat32(name);
    }
  } finally {
    await store.close();
  }
}

async function seedFile(dir: string): Promise<Uint8Array> {
  const file = join(dir, 'seed.safetensors');
  const f32 = new Float32Array([1, -2, 3.5, 0, 1e-3, 7]);
  await writeSafetensors(
    file,
    [
      { name: 'a.weight', dtype: 'F32', shape: [2, 3], data: new Uint8Array(f32.buffer) },
      { name: 'b.half', dtype: 'F16', shape: [4], data: new Uint8Array([0, 60, 0, 188, 0, 0, 0, 64]) },
      { name: 'c.bf16', dtype: 'BF16', shape: [1, 2], data: new Uint8Array([128, 63, 0, 64]) },
      { name: 'd.ids', dtype: 'I64', shape: [2], data: new Uint8Array(16) },
      { name: 'e.empty', dtype: 'F32', shape: [0, 4], data: new Uint8Array(0) },
    ],
    { format: 'pt' },
  );
  return new Uint8Array(await readFile(file));
}

test('safetensors: byte-mutated files are read or refused in one line', { timeout: 120_000 }, async () => {
  await withScratch('st', async (dir) => {
    const seed = await seedFile(dir);
    const headerEnd = 8 + Number(new DataView(seed.buffer, seed.byteOffset).getBigUint64(0, true));
    await writeFile(join(dir, 'model.safetensors'), seed);
    assert.equal(await readsOrRefusesCleanly('seed', () => readAll(dir)), true, 'the seed file reads');
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(mutatedBytes(seed, headerEnd), async (bytes) => {
        await writeFile(join(dir, 'model.safetensors'), bytes);
        if (!(await readsOrRefusesCleanly(`mutated file of ${bytes.length} bytes`, () => readAll(dir)))) refused++;
      }),
      fuzzParameters(),
    );
    assert.ok(refused > 0, 'some mutations were refused (the mutations reach the parser)');
  });
});

/** Header values a hostile or buggy writer might put in each field. */
const hostileNumber = fc.oneof(
  fc.integer({ min: -4, max: 64 }),
  fc.constantFrom(2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e300, -0, 0.5, Number.MAX_SAFE_INTEGER),
  fc.string({ maxLength: 3 }),
  fc.constant(null),
);
const entry = fc.record(
  {
    dtype: fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'U8', 'BOOL', 'F8_E4M3'), fc.string({ maxLength: 5 }), fc.integer()),
    shape: fc.oneof(fc.array(hostileNumber, { maxLength: 4 }), fc.array(fc.integer({ min: 0, max: 8 }), { maxLength: 3 }), hostileNumber),
    data_offsets: fc.oneof(fc.tuple(fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 80 })), fc.array(hostileNumber, { maxLength: 3 }), hostileNumber),
  },
  { requiredKeys: [] },
);
const header = fc.dictionary(fc.oneof(fc.constantFrom('__metadata__', 'x', ''), fc.string({ maxLength: 6 })), fc.oneof({ weight: 5, arbitrary: entry }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }), { maxKeys: 5 });

test('safetensors: structurally hostile headers (dtypes, shapes, offsets, lengths) are read or refused in one line', { timeout: 120_000 }, async () => {
  await withScratch('st-header', async (dir) => {
    await fc.assert(
      fc.asyncProperty(header, fc.uint8Array({ maxLength: 96 }), fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -8, max: 8 }) }), async (json, data, lengthError) => {
        const text = new TextEncoder().encode(JSON.stringify(json));
        const length = new Uint8Array(8);
        new DataView(length.buffer).setBigUint64(0, BigInt(Math.max(0, text.length + lengthError)), true);
        await writeFile(join(dir, 'model.safetensors'), concat(length, text, data));
        await readsOrRefusesCleanly(`header ${JSON.stringify(json).slice(0, 200)}`, () => readAll(dir));
      }),
      fuzzParameters(),
    );
  });
});
