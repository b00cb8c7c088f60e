/**
 * Bad input through the real CLI: each broken model folder gives a one-line error naming the file
 * and the problem, exit code 1, and no stack trace unless --debug.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { fixtureDir } from '../helpers/python.js';

let scratch: string;
let good: string;
let sharded: string;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-prune-bad-'));
  good = await fixtureDir('llama-mha');
  sharded = await fixtureDir('llama-sharded');
});
after(() => rm(scratch, { recursive: true, force: true }));

/** A copy of a fixture to break. */
async function copyOf(src: string, name: string): Promise<string> {
  const dir = join(scratch, name);
  await cp(src, dir, { recursive: true });
  return dir;
}

/** Rewrites the safetensors header of `file` with `edit` applied to its JSON. */
async function editHeader(file: string, edit: (h: Record<string, unknown>) => void): Promise<void> {
  const bytes = await readFile(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  edit(header);
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - ((8 + Buffer.byteLength(text)) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(text)));
  await writeFile(file, Buffer.concat([len, Buffer.from(text), bytes.subarray(8 + n)]));
}

async function expectOneLineError(dir: string, pattern: RegExp, file: string): Promise<void> {
  const r = await runCli(['inspect', dir]);
  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0], /^amp-prune: error: /);
  assert.ok(lines[0].includes(file), `message should name ${file}: ${lines[0]}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(r.stdout, '');
}

test('truncated safetensors file', async () => {
  const dir = await copyOf(good, 'truncated');
  const file = join(dir, 'model.safetensors');
  const bytes = await readFile(file);
  await writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
  await expectOneLineError(dir, /truncated|beyond|shorter|outside|end of/i, 'model.safetensors');
});

test('header length beyond the file', async () => {
  const dir = await copyOf(good, 'header-len');
  const file = join(dir, 'model.safetensors');
  const bytes = await readFile(file);
  bytes.writeBigUInt64LE(BigInt(bytes.length * 2), 0);
  await writeFile(file, bytes);
  await expectOneLineError(dir, /header length/i, 'model.safetensors');
});

test('header not JSON', async () => {
  const dir = await copyOf(good, 'not-json');
  const file = join(dir, 'model.safetensors');
  const bytes = await readFile(file);
  bytes.write('!', 8);
  await writeFile(file, bytes);
  await expectOneLineError(dir, /JSON/i, 'model.safetensors');
});

test('tensor offsets outside the data', async () => {
  const dir = await copyOf(good, 'offsets-outside');
  const file = join(dir, 'model.safetensors');
  await editHeader(file, (h) => {
    const t = h['model.norm.weight'] as { data_offsets: number[] };
    t.data_offsets = [t.data_offsets[0] + 1e9, t.data_offsets[1] + 1e9];
  });
  await expectOneLineError(dir, /model\.norm\.weight/, 'model.safetensors');
});

test('overlapping tensors', async () => {
  const dir = await copyOf(good, 'overlap');
  const file = join(dir, 'model.safetensors');
  await editHeader(file, (h) => {
    const names = Object.keys(h).filter((k) => k !== '__metadata__');
    const [a, b] = names.map((n) => h[n] as { data_offsets: number[]; shape: number[]; dtype: string }).filter((t) => t.shape.length === 1);
    b.data_offsets = [...a.data_offsets];
  });
  await expectOneLineError(dir, /overlap|contiguous|hole/i, 'model.safetensors');
});

test('unknown dtype', async () => {
  const dir = await copyOf(good, 'dtype');
  const file = join(dir, 'model.safetensors');
  await editHeader(file, (h) => {
    (h['model.norm.weight'] as { dtype: string }).dtype = 'F12';
  });
  await expectOneLineError(dir, /dtype.*F12|F12/, 'model.safetensors');
});

test('tensor shape disagreeing with config.json', async () => {
  const dir = await copyOf(good, 'shape');
  const configFile = join(dir, 'config.json');
  const config = JSON.parse(await readFile(configFile, 'utf8'));
  config.intermediate_size += 8;
  await writeFile(configFile, JSON.stringify(config));
  await expectOneLineError(dir, /shape .* config\.json implies/, 'model.safetensors');
});

test('missing config.json', async () => {
  const dir = await copyOf(good, 'no-config');
  await unlink(join(dir, 'config.json'));
  await expectOneLineError(dir, /not found/, 'config.json');
});

test('unsupported architecture lists the supported ones', async () => {
  const dir = await copyOf(good, 'arch');
  const configFile = join(dir, 'config.json');
  const config = JSON.parse(await readFile(configFile, 'utf8'));
  config.architectures = ['GPT2LMHeadModel'];
  await writeFile(configFile, JSON.stringify(config));
  await expectOneLineError(dir, /GPT2LMHeadModel is not supported \(supported: .*LlamaForCausalLM.*PhiForCausalLM.*Phi3ForCausalLM/, 'config.json');
});

test('missing shard', async () => {
  const dir = await copyOf(sharded, 'missing-shard');
  const shard = (await readdir(dir)).find((f) => /^model-0+2-of-.*\.safetensors$/.test(f))!;
  await unlink(join(dir, shard));
  await expectOneLineError(dir, /missing|not found/i, shard);
});

test('shard path escaping the model folder', async () => {
  const dir = await copyOf(sharded, 'escape');
  const indexFile = join(dir, 'model.safetensors.index.json');
  const index = JSON.parse(await readFile(indexFile, 'utf8'));
  const first = Object.keys(index.weight_map)[0];
  index.weight_map[first] = '../outside.safetensors';
  await writeFile(indexFile, JSON.stringify(index));
  await expectOneLineError(dir, /outside|escap/i, 'model.safetensors.index.json');
});

test('--debug adds the stack trace', async () => {
  const dir = join(scratch, 'does-not-exist');
  const r = await runCli(['inspect', dir, '--debug']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^amp-prune: error: .*does-not-exist/);
  assert.match(r.stderr, /\n\s+at /);
});

test('unknown command and bad flags are usage errors (exit 2)', async () => {
  const r = await runCli(['frobnicate']);
  assert.equal(r.code, 2);
  const d = await runCli(['inspect', good, '--device', 'tpu']);
  assert.equal(d.code, 2);
  assert.match(d.stderr, /tpu/);
});
