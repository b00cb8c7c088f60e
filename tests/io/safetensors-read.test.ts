import assert from 'node:assert/strict';
import { open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { FileError } from '../../src/errors.js';
import { SafetensorsFile } from '../../src/io/safetensors.js';
import { f32Bytes, rawSafetensors, rejectsWithFileError, tempDir } from './helpers.js';

async function writeTemp(name: string, bytes: Uint8Array): Promise<string> {
  const file = path.join(await tempDir(), name);
  await writeFile(file, bytes);
  return file;
}

describe('SafetensorsFile reads a valid file', () => {
  test('names, info, metadata and each tensor by byte range', async () => {
    const data = Buffer.concat([
      f32Bytes([1, 2, 3, 4, 5, 6]), // a: F32 [2, 3], bytes 0..24
      Buffer.from([0x00, 0x3c, 0x00, 0xc0]), // h: F16 [2] = 1, -2, bytes 24..28
      Buffer.from([0x80, 0x3f, 0x40, 0x40]), // b: BF16 [2] = 1, 3, bytes 28..32
      Buffer.from([7, 0, 0, 0, 0, 0, 0, 0]), // i: I64 [1], bytes 32..40
    ]);
    const header = {
      __metadata__: { format: 'pt' },
      // Listed out of data order on purpose: names() follows the data.
      i: { dtype: 'I64', shape: [1], data_offsets: [32, 40] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [28, 32] },
      a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
      h: { dtype: 'F16', shape: [2], data_offsets: [24, 28] },
      empty: { dtype: 'F32', shape: [0, 4], data_offsets: [40, 40] },
    };
    const bytes = rawSafetensors(header, data);
    const file = await writeTemp('ok.safetensors', bytes);
    const st = await SafetensorsFile.open(file);
    try {
      assert.deepEqual(st.names(), ['a', 'h', 'b', 'i', 'empty']);
      assert.deepEqual(st.metadata, { format: 'pt' });
      assert.ok(st.has('a') && !st.has('z'));
      const dataStart = bytes.length - data.length;
      assert.deepEqual(st.info('b'), { name: 'b', dtype: 'BF16', shape: [2], byteLength: 4, file, offset: dataStart + 28 });
      assert.deepEqual([...(await st.readFloat32('a'))], [1, 2, 3, 4, 5, 6]);
      assert.deepEqual([...(await st.readFloat32('h'))], [1, -2]);
      assert.deepEqual([...(await st.readFloat32('b'))], [1, 3]);
      assert.deepEqual([...(await st.readRaw('i'))], [7, 0, 0, 0, 0, 0, 0, 0]);
      assert.equal((await st.readFloat32('empty')).length, 0);
    } finally {
      await st.close();
    }
  });

  test('an F32 read is a zero-copy view of a fresh buffer', async () => {
    const file = await writeTemp('z.safetensors', rawSafetensors({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 12] } }, f32Bytes([1, 2, 3])));
    const st = await SafetensorsFile.open(file);
    const raw = await st.readRaw('w');
    assert.equal(raw.byteOffset, 0);
    assert.equal(raw.buffer.byteLength, 12);
    await st.close();
  });

  test('a file with no tensors and no metadata', async () => {
    const st = await SafetensorsFile.open(await writeTemp('e.safetensors', rawSafetensors({})));
    assert.deepEqual(st.names(), []);
    assert.deepEqual(st.metadata, {});
    await st.close();
  });

  test('header padded with trailing spaces, as the official writer does', async () => {
    const file = await writeTemp('p.safetensors', rawSafetensors('{"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}    ', new Uint8Array([9, 8])));
    const st = await SafetensorsFile.open(file);
    assert.deepEqual([...(await st.readRaw('w'))], [9, 8]);
    await st.close();
  });
});

describe('SafetensorsFile rejects broken files', () => {
  const tensorA = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty file', new Uint8Array(0), /truncated: 0 bytes, too short for the 8-byte safetensors header length/],
    ['file shorter than 8 bytes', new Uint8Array([1, 0, 0]), /truncated: 3 bytes/],
    ['header length beyond the file', rawSafetensors({}).subarray(0, 9), /header length 2 is beyond the end of the file \(9 bytes\)/],
    ['header length near 2^64', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7b, 0x7d]), /header length 18446744073709551615 is beyond/],
    ['header not valid JSON', rawSafetensors('{"a": '), /header is not valid JSON/],
    ['header not valid UTF-8', Buffer.from([3, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0xff, 0x7d]), /header is not valid JSON \(.*utf-8/],
    ['header a JSON array', rawSafetensors('[]'), /header is not a JSON object/],
    ['header JSON null', rawSafetensors('null'), /header is not a JSON object/],
    ['metadata not an object', rawSafetensors({ __metadata__: ['x'] }), /__metadata__ is not a JSON object/],
    ['metadata value not a string', rawSafetensors({ __metadata__: { k: 1 } }), /__metadata__ "k" is not a string/],
    ['tensor entry not an object', rawSafetensors({ w: 3 }), /tensor "w": entry is not a JSON object/],
    ['dtype missing', rawSafetensors({ w: { shape: [], data_offsets: [0, 0] } }), /tensor "w": dtype is missing or not a string/],
    ['unknown dtype', rawSafetensors({ w: { dtype: 'Q4_0', shape: [2], data_offsets: [0, 8] } }, 8), /tensor "w": unknown dtype "Q4_0"/],
    ['lowercase dtype', rawSafetensors({ w: { dtype: 'f32', shape: [2], data_offsets: [0, 8] } }, 8), /tensor "w": unknown dtype "f32"/],
    ['negative dimension', rawSafetensors({ w: { ...tensorA, shape: [-2] } }, 8), /tensor "w": shape \[-2\] is not an array of non-negative integers/],
    ['fractional dimension', rawSafetensors({ w: { ...tensorA, shape: [1.5] } }, 8), /tensor "w": shape \[1.5\] is not an array/],
    ['shape not an array', rawSafetensors({ w: { ...tensorA, shape: '2' } }, 8), /tensor "w": shape "2" is not an array/],
    ['shape missing', rawSafetensors({ w: { dtype: 'F32', data_offsets: [0, 8] } }, 8), /tensor "w": shape undefined is not an array/],
    ['data_offsets reversed', rawSafetensors({ w: { ...tensorA, data_offsets: [8, 0] } }, 8), /tensor "w": data_offsets \[8,0\] is not \[begin, end\] with begin <= end/],
    ['data_offsets of three numbers', rawSafetensors({ w: { ...tensorA, data_offsets: [0, 4, 8] } }, 8), /tensor "w": data_offsets \[0,4,8\] is not \[begin, end\]/],
    ['data_offsets negative', rawSafetensors({ w: { ...tensorA, data_offsets: [-8, 0] } }, 8), /tensor "w": data_offsets \[-8,0\] is not/],
    ['byte length does not match the shape', rawSafetensors({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /tensor "w": data_offsets \[0, 8\] span 8 bytes but shape \[3\] of F32 needs 12/],
    ['offsets outside the data section', rawSafetensors({ w: tensorA }, 4), /tensor "w": data_offsets \[0, 8\] are outside the data section \(4 bytes\)/],
    [
      'overlapping tensors',
      rawSafetensors({ a: tensorA, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12),
      /tensor "b": data overlaps tensor "a"/,
    ],
    [
      'a hole between tensors',
      rawSafetensors({ a: tensorA, b: { dtype: 'F32', shape: [1], data_offsets: [12, 16] } }, 16),
      /tensor "b": data is not contiguous \(4-byte hole before it, at 8\)/,
    ],
    ['a hole before the first tensor', rawSafetensors({ a: { ...tensorA, data_offsets: [4, 12] } }, 12), /tensor "a": data is not contiguous \(4-byte hole/],
    ['bytes after the last tensor', rawSafetensors({ a: tensorA }, 10), /data is not contiguous: 2 bytes after the last tensor/],
  ];
  for (const [label, bytes, problem] of cases) {
    test(label, async () => {
      const file = await writeTemp('bad.safetensors', bytes);
      await rejectsWithFileError(SafetensorsFile.open(file), file, problem);
    });
  }

  test('header length over the 100 MB limit (sparse file)', async () => {
    const file = path.join(await tempDir(), 'huge.safetensors');
    const handle = await open(file, 'w');
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(150_000_000n);
    await handle.write(prefix, 0, 8, 0);
    await handle.truncate(200_000_000);
    await handle.close();
    await rejectsWithFileError(SafetensorsFile.open(file), file, /header length 150000000 exceeds the 100000000-byte limit/);
  });

  test('missing file', async () => {
    const file = path.join(await tempDir(), 'nope.safetensors');
    await rejectsWithFileError(SafetensorsFile.open(file), file, /^not found$/);
  });

  test('a directory instead of a file', async () => {
    const dir = await tempDir();
    await rejectsWithFileError(SafetensorsFile.open(dir), dir, /not a regular file/);
  });
});

describe('SafetensorsFile rejects bad requests', () => {
  test('unknown tensor name', async () => {
    const file = await writeTemp('n.safetensors', rawSafetensors({}));
    const st = await SafetensorsFile.open(file);
    assert.throws(() => st.info('w'), (e: unknown) => e instanceof FileError && /no tensor named "w"/.test(e.message));
    await rejectsWithFileError(st.readRaw('w'), file, /no tensor named "w"/);
    await st.close();
  });

  test('readFloat32 of an integer tensor', async () => {
    const file = await writeTemp('i.safetensors', rawSafetensors({ ids: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, 8));
    const st = await SafetensorsFile.open(file);
    await rejectsWithFileError(st.readFloat32('ids'), file, /tensor "ids" has dtype I64, not a float type/);
    await st.close();
  });

  test('read after close', async () => {
    const file = await writeTemp('c.safetensors', rawSafetensors({ w: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, 1));
    const st = await SafetensorsFile.open(file);
    await st.close();
    await assert.rejects(st.readRaw('w'), /c\.safetensors: readRaw\("w"\) after close\(\)/);
    await st.close(); // idempotent
  });

  test('file truncated after opening', async () => {
    const file = await writeTemp('t.safetensors', rawSafetensors({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 8));
    const st = await SafetensorsFile.open(file);
    const handle = await open(file, 'r+');
    await handle.truncate(20);
    await handle.close();
    await rejectsWithFileError(st.readRaw('w'), file, /tensor "w": file ended at byte \d+/);
    await st.close();
  });
});
