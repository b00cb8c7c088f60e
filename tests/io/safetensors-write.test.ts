import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fromFloat32 } from '../../src/io/dtype.js';
import { SafetensorsFile, SafetensorsWriter, writeSafetensors } from '../../src/io/safetensors.js';
import { f32Bytes, tempDir } from './helpers.js';

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Header JSON text (padding included) and the data section's start. */
function splitFile(bytes: Buffer): { headerText: string; dataStart: number } {
  const headerLength = Number(bytes.readBigUInt64LE(0));
  return { headerText: bytes.subarray(8, 8 + headerLength).toString('utf8'), dataStart: 8 + headerLength };
}

describe('SafetensorsWriter round trip', () => {
  test('F32, F16 and BF16 tensors with metadata read back as written', async () => {
    const file = path.join(await tempDir(), 'rt.safetensors');
    const values = new Float32Array([1, -2.5, 0.1, 65504, 3.140625, 1e-8]);
    const tensors = [
      { name: 'model.embed.weight', dtype: 'F32' as const, shape: [2, 3], data: fromFloat32(values, 'F32') },
      { name: 'half', dtype: 'F16' as const, shape: [6], data: fromFloat32(values, 'F16') },
      { name: 'brain', dtype: 'BF16' as const, shape: [3, 2], data: fromFloat32(values, 'BF16') },
      { name: 'ids', dtype: 'I64' as const, shape: [1], data: new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0]) },
      { name: 'nothing', dtype: 'F16' as const, shape: [0], data: new Uint8Array(0) },
    ];
    await writeSafetensors(file, tensors, { format: 'pt', tool: 'amp-prune' });

    const st = await SafetensorsFile.open(file);
    try {
      assert.deepEqual(st.metadata, { format: 'pt', tool: 'amp-prune' });
      assert.deepEqual(st.names(), tensors.map((t) => t.name));
      assert.deepEqual(st.info('brain').shape, [3, 2]);
      assert.deepEqual(await st.readFloat32('model.embed.weight'), values);
      // Known roundings: 0.1 -> f16 0x2e66 = 0.0999755859375, 1e-8 underflows to 0 in f16.
      assert.deepEqual([...(await st.readFloat32('half'))], [1, -2.5, 0.0999755859375, 65504, 3.140625, 0]);
      // bf16 keeps 8 significant bits: 0.1 -> 0.10009765625, 65504 -> 65536, 1e-8 -> 1.0011717677116394e-8 (as torch gives).
      assert.deepEqual([...(await st.readFloat32('brain'))], [1, -2.5, 0.10009765625, 65536, 3.140625, 1.0011717677116394e-8]);
      assert.deepEqual([...(await st.readRaw('ids'))], [5, 0, 0, 0, 0, 0, 0, 0]);
      assert.equal((await st.readRaw('nothing')).length, 0);
    } finally {
      await st.close();
    }
  });

  test('header layout: metadata first, tensors in the given order, 8-byte aligned data', async () => {
    const file = path.join(await tempDir(), 'layout.safetensors');
    // Integer-like names would be reordered by a plain JSON.stringify of an object.
    await writeSafetensors(
      file,
      [
        { name: 'b', dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
        { name: '10', dtype: 'U8', shape: [1], data: new Uint8Array([4]) },
        { name: '2', dtype: 'F32', shape: [1], data: f32Bytes([1]) },
      ],
      { z: '1', a: '2' },
    );
    const bytes = await readFile(file);
    const { headerText, dataStart } = splitFile(bytes);
    assert.equal(dataStart % 8, 0);
    assert.equal(
      headerText.trimEnd(),
      '{"__metadata__":{"a":"2","z":"1"},' +
        '"b":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},' +
        '"10":{"dtype":"U8","shape":[1],"data_offsets":[3,4]},' +
        '"2":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
    );
    assert.match(headerText, /^\{.*\} *$/);
    assert.deepEqual([...bytes.subarray(dataStart, dataStart + 4)], [1, 2, 3, 4]);
    assert.equal(bytes.length, dataStart + 8);
    const st = await SafetensorsFile.open(file);
    assert.deepEqual(st.names(), ['b', '10', '2']);
    await st.close();
  });

  test('no metadata given: no __metadata__ key; no tensors: a valid empty file', async () => {
    const file = path.join(await tempDir(), 'empty.safetensors');
    await writeSafetensors(file, []);
    const bytes = await readFile(file);
    assert.equal(splitFile(bytes).headerText, '{}      ');
    const st = await SafetensorsFile.open(file);
    assert.deepEqual(st.names(), []);
    await st.close();
  });

  test('deterministic: the same inputs give byte-identical files, whatever the metadata key order', async () => {
    const dir = await tempDir();
    const tensors = [
      { name: 'w', dtype: 'BF16' as const, shape: [2, 2], data: fromFloat32(new Float32Array([1, 2, 3, 4]), 'BF16') },
      { name: 'b', dtype: 'F32' as const, shape: [2], data: f32Bytes([0.5, -0.5]) },
    ];
    await writeSafetensors(path.join(dir, 'one.safetensors'), tensors, { x: '1', y: '2' });
    await writeSafetensors(path.join(dir, 'two.safetensors'), tensors, { y: '2', x: '1' });
    assert.deepEqual(await readFile(path.join(dir, 'one.safetensors')), await readFile(path.join(dir, 'two.safetensors')));
  });

  test('streaming: tensors written one call at a time', async () => {
    const file = path.join(await tempDir(), 'stream.safetensors');
    const writer = await SafetensorsWriter.create(file, [
      { name: 'layer.0', dtype: 'F32', shape: [2] },
      { name: 'layer.1', dtype: 'F16', shape: [2] },
    ]);
    await writer.write('layer.0', f32Bytes([1, 2]));
    await writer.write('layer.1', fromFloat32(new Float32Array([3, 4]), 'F16'));
    await writer.close();
    await writer.close(); // idempotent
    const st = await SafetensorsFile.open(file);
    assert.deepEqual([...(await st.readFloat32('layer.1'))], [3, 4]);
    await st.close();
  });
});

describe('SafetensorsWriter misuse', () => {
  const entries = [
    { name: 'a', dtype: 'F32' as const, shape: [2] },
    { name: 'b', dtype: 'F32' as const, shape: [1] },
  ];

  test('writing out of order fails, closes, and abort() deletes the partial file', async () => {
    const file = path.join(await tempDir(), 'order.safetensors');
    const writer = await SafetensorsWriter.create(file, entries);
    await assert.rejects(writer.write('b', f32Bytes([1])), /order\.safetensors: write\("b"\) out of order, expected "a"/);
    await assert.rejects(writer.write('a', f32Bytes([1, 2])), /after the writer was closed/);
    assert.ok(await exists(file), 'the partial file stays until abort()');
    await writer.abort();
    assert.ok(!(await exists(file)));
  });

  test('wrong byte count', async () => {
    const file = path.join(await tempDir(), 'size.safetensors');
    const writer = await SafetensorsWriter.create(file, entries);
    await assert.rejects(writer.write('a', f32Bytes([1])), /tensor "a" got 4 bytes, its F32 shape \[2\] needs 8/);
    await writer.abort();
  });

  test('writing more tensors than declared', async () => {
    const file = path.join(await tempDir(), 'extra.safetensors');
    const writer = await SafetensorsWriter.create(file, entries.slice(0, 1));
    await writer.write('a', f32Bytes([1, 2]));
    await assert.rejects(writer.write('b', f32Bytes([1])), /write\("b"\) but all 1 tensors are written/);
    await writer.abort();
  });

  test('closing before every tensor is written', async () => {
    const file = path.join(await tempDir(), 'short.safetensors');
    const writer = await SafetensorsWriter.create(file, entries);
    await writer.write('a', f32Bytes([1, 2]));
    await assert.rejects(writer.close(), /closed after 1 of 2 tensors; missing "b"/);
    await writer.abort();
    assert.ok(!(await exists(file)));
  });

  test('abort() after a successful close deletes the file', async () => {
    const file = path.join(await tempDir(), 'done.safetensors');
    const writer = await SafetensorsWriter.create(file, []);
    await writer.close();
    await writer.abort();
    assert.ok(!(await exists(file)));
  });

  test('repeated, empty and reserved tensor names are refused before any file is created', async () => {
    const dir = await tempDir();
    for (const name of ['a', '', '__metadata__']) {
      const file = path.join(dir, 'names.safetensors');
      const list = name === 'a' ? [entries[0], entries[0]] : [{ ...entries[0], name }];
      await assert.rejects(SafetensorsWriter.create(file, list), /is empty, reserved or repeated/);
      assert.ok(!(await exists(file)));
    }
  });

  test('invalid shape is refused', async () => {
    const file = path.join(await tempDir(), 'shape.safetensors');
    await assert.rejects(SafetensorsWriter.create(file, [{ name: 'w', dtype: 'F32', shape: [-1] }]), /tensor "w" has invalid shape \[-1\]/);
  });

  test('writeSafetensors deletes the partial file on failure', async () => {
    const file = path.join(await tempDir(), 'fail.safetensors');
    await assert.rejects(
      writeSafetensors(file, [
        { name: 'a', dtype: 'F32', shape: [2], data: f32Bytes([1, 2]) },
        { name: 'b', dtype: 'F32', shape: [2], data: f32Bytes([1]) },
      ]),
      /tensor "b" got 4 bytes/,
    );
    assert.ok(!(await exists(file)));
  });

  test('a folder that does not exist', async () => {
    const file = path.join(await tempDir(), 'missing', 'x.safetensors');
    await assert.rejects(SafetensorsWriter.create(file, []), /x\.safetensors: not found/);
  });
});
