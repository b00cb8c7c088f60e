/**
 * The bzip2 decoder: the shared HellaSwag rendering decompresses to the sha1 its SOURCE.md states,
 * and payloads compressed by Python's bz2 (runs, several blocks, all byte values, concatenated
 * streams, empty input) come back byte for byte; damaged data is refused.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { Bzip2Error, bunzip2, bunzip2Blocks } from '../../src/eval/tasks/bzip2.js';
import { REPO_ROOT, runPython } from '../helpers/python.js';

const RENDERING = join(REPO_ROOT, '..', 'shared', 'data', 'hellaswag', 'hellaswag_val_full.txt.bz2');
const RENDERING_SHA1 = 'ea3841618209fa89afd983d7eb2bf6f475071e74';

// Each case: name -> Python expression for the raw bytes; compressed at level 1 (100 kB blocks).
const CASES: Record<string, string> = {
  empty: "b''",
  'one byte': "b'x'",
  'runs of every length around the 4-byte run marker': "b''.join(bytes([65 + n % 3]) * n for n in range(1, 300))",
  'a long run (RUNA/RUNB zero-run coding)': "b'a' * 250000",
  'every byte value': 'bytes(range(256)) * 50',
  'several blocks of random bytes': 'random.Random(7).randbytes(350000)',
  'text in several blocks': "' '.join(str(i * i) for i in range(60000)).encode()",
};

interface Payload {
  raw: Buffer;
  compressed: Buffer;
}
let payloads: Record<string, Payload>;

before(async () => {
  const code = [
    'import bz2, base64, json, random, sys',
    `cases = {${Object.entries(CASES).map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(', ')}}`,
    'out = {k: [base64.b64encode(v).decode(), base64.b64encode(bz2.compress(v, 1)).decode()] for k, v in cases.items()}',
    'json.dump(out, sys.stdout)',
  ].join('\n');
  const raw = JSON.parse(await runPython(['-c', code])) as Record<string, [string, string]>;
  payloads = Object.fromEntries(
    Object.entries(raw).map(([k, [r, c]]) => [k, { raw: Buffer.from(r, 'base64'), compressed: Buffer.from(c, 'base64') }]),
  );
});

test('the shared HellaSwag rendering decompresses to the published sha1', async () => {
  const out = bunzip2(await readFile(RENDERING));
  assert.equal(createHash('sha1').update(out).digest('hex'), RENDERING_SHA1);
  assert.equal(out.length, 7770677);
});

for (const name of Object.keys(CASES)) {
  test(`round trip through Python bz2: ${name}`, () => {
    const { raw, compressed } = payloads[name];
    assert.ok(Buffer.from(bunzip2(compressed)).equals(raw));
  });
}

test('concatenated streams decompress one after the other', () => {
  const a = payloads['one byte'];
  const b = payloads['every byte value'];
  assert.ok(Buffer.from(bunzip2(Buffer.concat([a.compressed, b.compressed]))).equals(Buffer.concat([a.raw, b.raw])));
});

test('blocks come out one at a time, so a reader can stop early', () => {
  const { raw, compressed } = payloads['several blocks of random bytes'];
  const first = bunzip2Blocks(compressed).next();
  assert.equal(first.done, false);
  assert.ok(first.value.length > 0 && first.value.length < raw.length);
  assert.ok(Buffer.from(first.value).equals(raw.subarray(0, first.value.length)));
});

test('damaged data is refused', () => {
  const { compressed } = payloads['text in several blocks'];
  const flipped = Buffer.from(compressed);
  flipped[flipped.length >> 1] ^= 0x10;
  assert.throws(() => bunzip2(flipped), Bzip2Error);
  assert.throws(() => bunzip2(compressed.subarray(0, compressed.length - 10)), Bzip2Error);
  assert.throws(() => bunzip2(Buffer.from('not bzip2 at all')), /no "BZh" header/);
});
