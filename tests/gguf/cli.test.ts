/**
 * `amp-prune convert` through the real CLI: a summary on success; on a broken or unsupported
 * file, one error line, exit code 1, and no output folder (not even a partial one).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { fixturePath, ggufFixtures } from './helpers.js';

await ggufFixtures();
const scratch = await mkdtemp(join(tmpdir(), 'amp-prune-gguf-cli-'));
after(() => rm(scratch, { recursive: true, force: true }));

test('convert writes a model folder and a summary', async () => {
  const out = join(scratch, 'q4_1');
  const result = await runCli(['convert', fixturePath('q4_1', 'model.gguf'), '--out', out]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /tensors +20 \(Q4_1 x15, F32 x5\) -> float32/);
  assert.match(result.stdout, /tokenizer +gpt2 \(byte-level BPE, pre default\)/);
  assert.deepEqual((await readdir(out)).sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
});

test('convert --json prints the summary as JSON', async () => {
  const result = await runCli(['convert', fixturePath('kquants', 'model.gguf'), '--out', join(scratch, 'kq'), '--json']);
  assert.equal(result.code, 0, result.stderr);
  const summary = JSON.parse(result.stdout) as { sourceTypes: Record<string, number>; tiedEmbeddings: boolean };
  assert.deepEqual(summary.sourceTypes, { Q6_K: 4, F32: 5, Q4_K: 4, Q3_K: 2, Q5_K: 4, Q2_K: 2 });
  assert.equal(summary.tiedEmbeddings, false);
});

test('convert refuses a non-empty output folder unless --force', async () => {
  const out = join(scratch, 'occupied');
  await mkdir(out);
  await writeFile(join(out, 'keep.txt'), 'x');
  const refused = await runCli(['convert', fixturePath('f16', 'model.gguf'), '--out', out]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /occupied/);
  assert.equal(await readFile(join(out, 'keep.txt'), 'utf8'), 'x');
  const forced = await runCli(['convert', fixturePath('f16', 'model.gguf'), '--out', out, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.ok(!existsSync(join(out, 'keep.txt')));
});

async function brokenCopy(name: string, edit: (bytes: Buffer) => Buffer): Promise<string> {
  const file = join(scratch, name);
  await writeFile(file, edit(await readFile(fixturePath('f32', 'model.gguf'))));
  return file;
}

const refusals: [string, () => Promise<string>, RegExp][] = [
  ['bad magic', () => brokenCopy('magic.gguf', (b) => Buffer.concat([Buffer.from('GGML'), b.subarray(4)])), /not a GGUF file/],
  ['unsupported version', () => brokenCopy('v9.gguf', (b) => { const c = Buffer.from(b); c.writeUInt32LE(9, 4); return c; }), /GGUF version 9 is not supported \(versions 2 and 3 are\)/],
  ['truncated tensor data', () => brokenCopy('cut.gguf', (b) => b.subarray(0, b.length - 1000)), /truncated: tensor output\.weight .* extends beyond the end of the file/],
  ['unsupported quant type', async () => fixturePath('errors', 'unsupported-type.gguf'), /tensor blk\.0\.attn_v\.weight has quantization type IQ4_NL, which is not supported \(supported: F32, F16, BF16, Q4_0, .*Q6_K\)/],
  ['metadata contradicting shapes', async () => fixturePath('errors', 'contradicting-shape.gguf'), /tensor token_embd\.weight has dims \[256, 856\] but the metadata \(vocabulary 856, embedding_length 128\) implies \[128, 856\]/],
  ['qwen2 metadata without a head count', async () => fixturePath('errors', 'qwen2-no-head-count.gguf'), /qwen2-no-head-count\.gguf: .*qwen2\.attention\.head_count/],
  ['a qwen2 bias of the wrong shape', async () => fixturePath('errors', 'qwen2-short-bias.gguf'), /qwen2-short-bias\.gguf: tensor blk\.1\.attn_k\.bias has dims \[64\] but the metadata \(head_count_kv 2 × head size 64\) implies \[128\]/],
  ['a phi3 up projection without its gate rows', async () => fixturePath('errors', 'phi3-unfused-up.gguf'), /phi3-unfused-up\.gguf: tensor blk\.0\.ffn_up\.weight has dims \[256, 512\] but the metadata \(2 × feed_forward_length 512, embedding_length 256\) implies \[256, 1024\]/],
  ['phi2 metadata without its rotary width', async () => fixturePath('errors', 'phi2-no-rope-dim.gguf'), /phi2-no-rope-dim\.gguf: metadata phi2\.rope\.dimension_count is missing/],
  ['a phi2 rotary width past the head size', async () => fixturePath('errors', 'phi2-rope-dim-past-head.gguf'), /phi2-rope-dim-past-head\.gguf: phi2\.rope\.dimension_count 128 is larger than the head size 64/],
  ['an odd phi2 rotary width', async () => fixturePath('errors', 'phi2-odd-rope-dim.gguf'), /phi2-odd-rope-dim\.gguf: phi2\.rope\.dimension_count 23 is odd/],
  ['a phi2 file whose head is tied to the embeddings', async () => fixturePath('errors', 'phi2-tied-head.gguf'), /phi2-tied-head\.gguf: tensor output\.weight is missing/],
  ['a phi2 file without one of its biases', async () => fixturePath('errors', 'phi2-no-down-bias.gguf'), /phi2-no-down-bias\.gguf: tensor blk\.1\.ffn_down\.bias is missing/],
  ['missing file', async () => join(scratch, 'absent.gguf'), /absent\.gguf: not found/],
];

for (const [name, makeInput, message] of refusals) {
  test(`convert refuses ${name}: one line, exit 1, no output folder`, async () => {
    const input = await makeInput();
    const out = join(scratch, `out-${name.replace(/ /g, '-')}`);
    const result = await runCli(['convert', input, '--out', out]);
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0], /^amp-prune: error: /);
    assert.match(lines[0], message);
    assert.ok(!existsSync(out), 'output folder must not exist');
    assert.deepEqual((await readdir(scratch)).filter((f) => f.includes(`out-${name.replace(/ /g, '-')}`)), [], 'no staging folder left');
  });
}

test('a disk that fills up mid-conversion leaves no output folder', async () => {
  const out = join(scratch, 'disk-full');
  const result = await runCli(['convert', fixturePath('f32', 'model.gguf'), '--out', out], { env: { AMP_PRUNE_FAIL_WRITE_AFTER_BYTES: '2000000' } });
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr.trim(), /^amp-prune: error: .*disk-full: write failed: no space left on device.*\(nothing was written\)$/);
  assert.ok(!existsSync(out));
  assert.deepEqual((await readdir(scratch)).filter((f) => f.includes('disk-full')), []);
});
