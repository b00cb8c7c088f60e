/** `prune`, `eval` (and `inspect` through convert's cache) take a .gguf path directly. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pruneRecordIn } from '../helpers/amp-prune-record.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/python.js';
import { fixturePath, ggufFixtures } from './helpers.js';

let scratch: string;
let gguf: string;
let env: Record<string, string>;
before(async () => {
  await ggufFixtures();
  gguf = fixturePath('q4_1', 'model.gguf');
  scratch = await mkdtemp(join(tmpdir(), 'amp-gguf-cmds-'));
  env = { XDG_CACHE_HOME: join(scratch, 'cache') };
});
after(() => rm(scratch, { recursive: true, force: true }));

test('prune --model FILE.gguf writes a Hugging Face folder and leaves the GGUF untouched', async () => {
  const before = await stat(gguf);
  const out = join(scratch, 'pruned');
  const alpaca = join(REPO_ROOT, '..', 'shared', 'data', 'alpaca', 'alpaca_5000.json');
  const r = await runCli(['prune', '--model', gguf, '--out', out, '--ratio', '0.25', '--calib', alpaca, '--calib-samples', '4', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  const record = await pruneRecordIn(out);
  assert.equal(record.source.model, 'model.gguf');
  const after = await stat(gguf);
  assert.equal(after.mtimeMs, before.mtimeMs);
  assert.equal(after.size, before.size);
  // the conversion went to the user cache, not beside the input
  assert.ok((await stat(join(scratch, 'cache', 'amp-prune', 'gguf'))).isDirectory());
});

test('eval --model FILE.gguf runs', async () => {
  const data = join(REPO_ROOT, '..', 'shared', 'data');
  const r = await runCli(['eval', '--model', gguf, '--tasks', 'arc_easy', '--data-dir', data, '--limit', '3'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /arc_easy/);
});
