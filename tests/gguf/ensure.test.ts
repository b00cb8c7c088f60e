/** ensureHfCheckpoint: folders pass through; a GGUF converts once per file version into its cache. */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readdir, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { ensureHfCheckpoint } from '../../src/convert/ensure-hf.js';
import { fixturePath, ggufFixtures } from './helpers.js';

await ggufFixtures();
const scratch = await mkdtemp(join(tmpdir(), 'amp-prune-gguf-ensure-'));
after(() => rm(scratch, { recursive: true, force: true }));

test('a model folder and a missing path come back unchanged', async () => {
  assert.equal(await ensureHfCheckpoint(scratch), scratch);
  assert.equal(await ensureHfCheckpoint(join(scratch, 'nope')), join(scratch, 'nope'));
});

test('a GGUF converts once into the user cache ($XDG_CACHE_HOME/amp-prune/gguf), then the cached folder is reused', async () => {
  const gguf = join(scratch, 'tiny.gguf');
  await copyFile(fixturePath('q8_0', 'model.gguf'), gguf);
  const userCache = join(scratch, 'xdg', 'amp-prune', 'gguf');
  process.env.XDG_CACHE_HOME = join(scratch, 'xdg');
  const first = await ensureHfCheckpoint(gguf);
  assert.equal(dirname(first), userCache);
  assert.deepEqual(await readdir(scratch).then((names) => names.filter((n) => n === '.amp-prune-cache')), [], 'nothing written beside the input');
  assert.match(first, /tiny-[0-9a-f]{16}$/);
  const written = (await stat(join(first, 'model.safetensors'))).mtimeMs;
  assert.equal(await ensureHfCheckpoint(gguf), first);
  assert.equal((await stat(join(first, 'model.safetensors'))).mtimeMs, written, 'not converted again');

  // A replaced (here: touched) file gets a fresh conversion.
  await utimes(gguf, new Date(), new Date(Date.now() + 5000));
  const second = await ensureHfCheckpoint(gguf);
  assert.notEqual(second, first);
  assert.equal((await readdir(userCache)).length, 2);
});

test('an explicit cache folder is used instead', async () => {
  const cache = join(scratch, 'cache', 'nested');
  const folder = await ensureHfCheckpoint(fixturePath('f16', 'model.gguf'), cache);
  assert.equal(dirname(folder), cache);
  assert.ok((await stat(join(folder, 'config.json'))).isFile());
});

test('a broken GGUF fails with the converter error and leaves no cache entry', async () => {
  const gguf = join(scratch, 'broken.gguf');
  await copyFile(fixturePath('errors', 'unsupported-type.gguf'), gguf);
  const cache = join(scratch, 'broken-cache');
  await assert.rejects(ensureHfCheckpoint(gguf, cache), /IQ4_NL, which is not supported/);
  assert.deepEqual(await readdir(cache), []);
});

test('an unusable cache folder is reported with the explicit command to run instead', async () => {
  const notAFolder = join(scratch, 'file-not-folder');
  await copyFile(fixturePath('texts.json'), notAFolder);
  await assert.rejects(ensureHfCheckpoint(fixturePath('f16', 'model.gguf'), join(notAFolder, 'cache')), /cannot create a conversion cache folder here; convert explicitly with `amp-prune convert .* --out DIR`/);
});
