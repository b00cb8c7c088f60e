/**
 * NaN and Inf never make a silently garbage model: a checkpoint with one non-finite weight
 * (written by Python safetensors / gguf-py, not by us) is refused in one line naming the file, the
 * tensor and the element by every command that reads it; finite weights whose activations overflow
 * stop the scoring pass naming the layer. The bit-level detector is checked against every 16-bit
 * pattern decoded by dtype.ts (itself cross-checked against torch) and against native floats.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { toFloat32 } from '../../src/io/dtype.js';
import { firstNonFinite } from '../../src/io/finite.js';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, REPO_ROOT, runPython } from '../helpers/python.js';
import { fixturePath, ggufFixtures } from '../gguf/helpers.js';

const ALPACA = join(REPO_ROOT, '..', 'shared', 'data', 'alpaca', 'alpaca_5000.json');

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-prune-nonfinite-'));
});
after(() => rm(scratch, { recursive: true, force: true }));

/** A copy of fixture `name` with `tensor[row, col]` set to `value` by Python safetensors (or the whole tensor scaled). */
async function poisoned(name: string, tensor: string, edit: string): Promise<string> {
  const dir = join(scratch, `${name}-${Math.random().toString(36).slice(2)}`);
  await cp(await fixtureDir(name), dir, { recursive: true });
  const file = join(dir, 'model.safetensors');
  await runPython([
    '-c',
    [
      'import sys, torch',
      'from safetensors.torch import load_file, save_file',
      'file, name, edit = sys.argv[1:]',
      'tensors = load_file(file)',
      't = tensors[name]',
      'exec(edit)',
      "save_file(tensors, file, metadata={'format': 'pt'})",
    ].join('\n'),
    file,
    tensor,
    edit,
  ]);
  return dir;
}

function assertOneLine(result: { code: number; stdout: string; stderr: string }, ...expected: RegExp[]): void {
  assert.equal(result.code, 1, `exit code (stderr: ${result.stderr})`);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], /^amp-prune: error: /);
  assert.doesNotMatch(lines[0], /internal error/);
  for (const e of expected) assert.match(lines[0], e);
}

test('one NaN weight: prune, eval and export refuse the model naming file, tensor and element; no output', async () => {
  const model = await poisoned('llama-mha', 'model.layers.1.self_attn.q_proj.weight', "t[5, 7] = float('nan')");
  const tensor = /model\.safetensors: tensor "model\.layers\.1\.self_attn\.q_proj\.weight" holds NaN at \[5, 7\]/;
  const out = join(scratch, 'nan-out');
  assertOneLine(await runCli(['prune', '--model', model, '--out', out, '--ratio', '0.3', '--calib', ALPACA, '--calib-samples', '2', '--threads', '1']), tensor);
  assertOneLine(await runCli(['prune', '--model', model, '--out', out, '--ratio', '0.3', '--method', 'magnitude']), tensor);
  assertOneLine(await runCli(['eval', '--model', model, '--tasks', 'piqa', '--limit', '1', '--data-dir', join(REPO_ROOT, '..', 'shared', 'data')]), tensor);
  assertOneLine(await runCli(['export', model, '--out', join(scratch, 'nan.gguf')]), tensor);
  assert.ok(!(await readdir(scratch)).some((f) => f.startsWith('nan') || f.startsWith('.nan')), 'no output or temporary files');
});

test('one -Inf weight in a bf16 checkpoint is named as Inf', async () => {
  const model = await poisoned('llama-bf16', 'model.layers.0.mlp.down_proj.weight', "t[0, 3] = float('-inf')");
  assertOneLine(
    await runCli(['prune', '--model', model, '--out', join(scratch, 'inf-out'), '--ratio', '0.3', '--method', 'magnitude']),
    /tensor "model\.layers\.0\.mlp\.down_proj\.weight" holds Inf at \[0, 3\]/,
  );
});

test('finite weights whose activations overflow stop the scoring pass, naming the layer', async () => {
  const model = await poisoned('llama-mha', 'model.layers.0.mlp.down_proj.weight', 't.fill_(3e38)');
  assertOneLine(
    await runCli(['prune', '--model', model, '--out', join(scratch, 'overflow-out'), '--ratio', '0.3', '--calib', ALPACA, '--calib-samples', '2', '--threads', '1']),
    /layer 0's output on the calibration data \(batch 1\) holds (NaN|Inf)/,
  );
});

test('convert: a GGUF whose F32 tensor holds a NaN (set with gguf-py) is refused, naming the tensor', async () => {
  await ggufFixtures();
  const file = join(scratch, 'nan.gguf');
  await cp(fixturePath('f32', 'model.gguf'), file);
  await runPython([
    '-c',
    [
      'import sys, numpy as np, gguf',
      "reader = gguf.GGUFReader(sys.argv[1], 'r+')",
      "t = next(t for t in reader.tensors if t.name == 'blk.0.ffn_up.weight')",
      'flat = t.data.reshape(-1)',
      'flat[10] = np.nan',
      'reader.data.flush()',
    ].join('\n'),
    file,
  ]);
  const out = join(scratch, 'nan-converted');
  assertOneLine(await runCli(['convert', file, '--out', out]), /nan\.gguf: tensor "blk\.0\.ffn_up\.weight" holds NaN at \[0, 10\]/);
  assert.ok(!(await readdir(scratch)).some((f) => f.includes('nan-converted')));
});

test('firstNonFinite agrees with decoded values on every 16-bit pattern, and with native F32/F64, aligned or not', () => {
  for (const dtype of ['F16', 'BF16'] as const) {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const bytes = new Uint8Array(bits.buffer);
    const values = toFloat32(bytes, dtype);
    // one pattern at a time, at an odd offset too
    for (let i = 0; i < 65536; i += 1) {
      const single = new Uint8Array(3);
      single.set(bytes.subarray(2 * i, 2 * i + 2), 1);
      const bad = firstNonFinite(single.subarray(1), dtype);
      const v = values[i];
      const expected = Number.isFinite(v) ? undefined : { index: 0, kind: Number.isNaN(v) ? 'NaN' : 'Inf' };
      assert.deepEqual(bad, expected, `${dtype} 0x${i.toString(16)}`);
    }
  }
  for (const [dtype, Array_] of [['F32', Float32Array], ['F64', Float64Array]] as const) {
    for (const special of [NaN, Infinity, -Infinity]) {
      const values = new Array_([1, -0, 1e-40, 2, special, 7]);
      const raw = new Uint8Array(values.buffer);
      for (const offset of [0, 1]) {
        const copy = new Uint8Array(raw.byteLength + offset);
        copy.set(raw, offset);
        assert.deepEqual(firstNonFinite(copy.subarray(offset), dtype), { index: 4, kind: Number.isNaN(special) ? 'NaN' : 'Inf' }, `${dtype} ${special} offset ${offset}`);
      }
      assert.equal(firstNonFinite(new Uint8Array(values.subarray(0, 4).slice().buffer), dtype), undefined);
    }
  }
  assert.equal(firstNonFinite(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 'I32'), undefined, 'integer tensors are not floats');
});
