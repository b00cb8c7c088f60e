/**
 * The GGUF reader against gguf-py's GGUFReader (reader.json, written by make_gguf.py) on every
 * fixture: version, alignment, data offset, every metadata value, every tensor's dims, type,
 * offset and size; v2 files; and the one-line errors for broken files.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FileError } from '../../src/errors.js';
import type { GgufValue } from '../../src/io/gguf/metadata.js';
import { GgufFile } from '../../src/io/gguf/reader.js';
import { fixturePath, ggufFixtures, readJson } from './helpers.js';

interface ReaderView {
  version: number;
  alignment: number;
  data_offset: number;
  metadata: Record<string, unknown>;
  tensors: { name: string; dims: number[]; type: string; offset: number; bytes: number }[];
}

const manifest = await ggufFixtures();
const scratch = await mkdtemp(join(tmpdir(), 'amp-prune-gguf-reader-'));
after(() => rm(scratch, { recursive: true, force: true }));

/** A metadata value as reader.json writes it (arrays: length, first three and last items). */
function asView(value: GgufValue): unknown {
  if (Array.isArray(value)) return { length: value.length, first: value.slice(0, 3), last: value.slice(-1) };
  return typeof value === 'bigint' ? Number(value) : value;
}

for (const variant of manifest.variants) {
  test(`reads ${variant.name} as gguf-py does`, async () => {
    const expected = await readJson<ReaderView>(fixturePath(variant.name, 'reader.json'));
    const gguf = await GgufFile.open(fixturePath(variant.name, 'model.gguf'));
    try {
      assert.equal(gguf.version, expected.version);
      assert.equal(gguf.alignment, expected.alignment);
      assert.equal(gguf.dataOffset, expected.data_offset);
      const metadata = Object.fromEntries([...gguf.metadata.entries].map(([key, entry]) => [key, asView(entry.value)]));
      assert.deepEqual(metadata, expected.metadata);
      const tensors = gguf.tensors.map((t) => ({ name: t.name, dims: [...t.dims], type: t.type.name, offset: t.offset, bytes: t.byteLength }));
      assert.deepEqual(tensors, expected.tensors);
    } finally {
      await gguf.close();
    }
  });
}

test('reads tensor data lazily by byte range', async () => {
  const gguf = await GgufFile.open(fixturePath('f32', 'model.gguf'));
  try {
    const norm = gguf.tensor('output_norm.weight');
    assert.ok(norm);
    const bytes = await gguf.readBytes(norm);
    const file = await readFile(fixturePath('f32', 'model.gguf'));
    assert.deepEqual(Buffer.from(bytes), file.subarray(norm.offset, norm.offset + norm.byteLength));
    assert.deepEqual(norm.shape, [256]);
    assert.deepEqual(gguf.tensor('token_embd.weight')?.shape, [856, 256]); // numpy order: dims reversed
  } finally {
    await gguf.close();
  }
});

/** A copy of the f32 fixture changed by `edit`; returns its path. */
async function brokenCopy(name: string, edit: (bytes: Buffer) => Buffer): Promise<string> {
  const file = join(scratch, name);
  await writeFile(file, edit(await readFile(fixturePath('f32', 'model.gguf'))));
  return file;
}

function withVersion(version: number, littleEndian = true): (bytes: Buffer) => Buffer {
  return (bytes) => {
    const copy = Buffer.from(bytes);
    if (littleEndian) copy.writeUInt32LE(version, 4);
    else copy.writeUInt32BE(version, 4);
    return copy;
  };
}

test('reads a version 2 file (same layout as 3 for little-endian files)', async () => {
  const gguf = await GgufFile.open(await brokenCopy('v2.gguf', withVersion(2)));
  try {
    assert.equal(gguf.version, 2);
    assert.equal(gguf.tensors.length, 21);
  } finally {
    await gguf.close();
  }
});

async function openError(file: string): Promise<string> {
  try {
    await (await GgufFile.open(file)).close();
  } catch (error) {
    assert.ok(error instanceof FileError, `expected a FileError, got ${String(error)}`);
    assert.ok(!error.message.includes('\n'), 'one line');
    return error.message;
  }
  assert.fail(`${file} opened without error`);
}

const brokenFiles: [string, (bytes: Buffer) => Buffer, RegExp][] = [
  ['bad magic', (b) => Buffer.concat([Buffer.from('PK\x03\x04'), b.subarray(4)]), /not a GGUF file \(starts with bytes 50 4b 03 04, expected "GGUF"\)/],
  ['version 1', withVersion(1), /GGUF version 1 is not supported \(versions 2 and 3 are\)/],
  ['version 4', withVersion(4), /GGUF version 4 is not supported/],
  ['big-endian', withVersion(3, false), /big-endian GGUF \(version 3\) is not supported/],
  ['tiny file', (b) => b.subarray(0, 3), /not a GGUF file \(only 3 bytes\)/],
  ['cut in the metadata', (b) => b.subarray(0, 900), /truncated: .*\(900 bytes\)$/],
  ['cut in the tensor data', (b) => b.subarray(0, b.length - 10), /truncated: tensor output\.weight \(bytes \d+\.\.\d+\) extends beyond the end of the file/],
];

for (const [name, edit, message] of brokenFiles) {
  test(`refuses a broken file: ${name}`, async () => {
    const file = await brokenCopy(`${name.replace(/ /g, '-')}.gguf`, edit);
    const error = await openError(file);
    assert.ok(error.startsWith(`${file}: `), error);
    assert.match(error, message);
  });
}

test('refuses a missing file and a folder', async () => {
  assert.match(await openError(join(scratch, 'nope.gguf')), /nope\.gguf: not found$/);
  assert.match(await openError(scratch), /not a regular file|cannot be opened/);
});

test('a huge array count fails as truncation, without allocating', async () => {
  const copy = join(scratch, 'huge-count.gguf');
  await copyFile(fixturePath('f32', 'model.gguf'), copy);
  const bytes = await readFile(copy);
  // tokenizer.ggml.tokens: find its key, then the u64 count after the key, type and item type.
  const key = Buffer.from('tokenizer.ggml.tokens');
  const at = bytes.indexOf(key) + key.length + 8;
  bytes.writeBigUInt64LE(1n << 40n, at);
  await writeFile(copy, bytes);
  assert.match(await openError(copy), /truncated: metadata tokenizer\.ggml\.tokens of 1099511627776 items/);
});
