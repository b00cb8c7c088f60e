/**
 * `amp-prune export --format onnx` as a command: the folder's layout and config as transformers.js
 * reads them, byte-identical repeats, and one-line refusals that leave nothing behind. (That the
 * folder runs, and runs as our engine does, is onnx-transformers-js.test.ts.)
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { fixtureDir } from '../helpers/python.js';
import { hashFolder, leftovers, tempDir } from './helpers.js';

const dir = await tempDir();
const model = await fixtureDir('smollm');

test('the folder has transformers.js\'s layout per dtype, and the same inputs give byte-identical folders', async () => {
  for (const [dtype, file] of [['fp32', 'model.onnx'], ['fp16', 'model_fp16.onnx'], ['q8', 'model_quantized.onnx'], ['q4', 'model_q4.onnx']] as const) {
    const out = path.join(dir, `cli-${dtype}`);
    const run = await runCli(['export', model, '--format', 'onnx', '--dtype', dtype, '--out', out, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout);
    assert.equal(summary.model, `onnx/${file}`);
    assert.deepEqual((await readdir(path.join(out, 'onnx'))).sort(), [file, `${file}_data`]);
    for (const name of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) assert.ok(summary.files.includes(name), name);
    const config = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8'));
    assert.deepEqual(config['transformers.js_config'], { dtype, use_external_data_format: { [file]: 1 } });
    const source = JSON.parse(await readFile(path.join(model, 'config.json'), 'utf8'));
    assert.deepEqual({ ...config, 'transformers.js_config': undefined }, { ...source, 'transformers.js_config': undefined });
    const again = path.join(dir, `cli-${dtype}-again`);
    assert.equal((await runCli(['export', model, '--format', 'onnx', '--dtype', dtype, '--out', again])).code, 0);
    assert.deepEqual(await hashFolder(again), await hashFolder(out));
  }
  const fp32 = (await readFile(path.join(dir, 'cli-fp32', 'onnx', 'model.onnx_data'))).length;
  const q8 = (await readFile(path.join(dir, 'cli-q8', 'onnx', 'model_quantized.onnx_data'))).length;
  assert.ok(q8 < fp32 / 3, `q8 data ${q8} bytes vs fp32 ${fp32}`);
  // the fixture's embedding (700 x 96) is a third of its weights and stays float16 in q4
  const q4 = (await readFile(path.join(dir, 'cli-q4', 'onnx', 'model_q4.onnx_data'))).length;
  const fp16 = (await readFile(path.join(dir, 'cli-fp16', 'onnx', 'model_fp16.onnx_data'))).length;
  assert.ok(q4 < fp16 * 0.7, `q4 data ${q4} bytes vs fp16 ${fp16}`);
});

test('bad input: one line naming the file and the reason, exit 1, nothing written', async () => {
  const longrope = path.join(dir, 'longrope');
  await cp(await fixtureDir('phi3'), longrope, { recursive: true });
  const configPath = path.join(longrope, 'config.json');
  const config = JSON.parse(await readFile(configPath, 'utf8'));
  const half = config.hidden_size / config.num_attention_heads / 2;
  config.max_position_embeddings = 4 * config.original_max_position_embeddings;
  config.rope_scaling = { type: 'longrope', short_factor: new Array(half).fill(1), long_factor: new Array(half).fill(2) };
  delete config.rope_parameters;
  await writeFile(configPath, JSON.stringify(config));

  const parent = path.join(dir, 'refused');
  await mkdir(parent);
  const out = path.join(parent, 'out');
  const cases: [string[], RegExp, number][] = [
    [[longrope], /longrope\/config\.json: its rotary embedding switches frequencies with the sequence length/, 1],
    [[model, '--dtype', 'q8_0'], /--dtype q8_0 is not an ONNX export type \(choose fp32, fp16, q8, q4\)/, 2],
    [[path.join(dir, 'no-such-model')], /no-such-model: model folder not found/, 1],
  ];
  for (const [args, message, exitCode] of cases) {
    const { code, stdout, stderr } = await runCli(['export', '--format', 'onnx', ...args, '--out', out]);
    assert.equal(code, exitCode, args.join(' '));
    assert.equal(stderr.trim().split('\n').length, 1, `one line: ${stderr}`);
    assert.match(stderr, message);
    assert.doesNotMatch(stderr, /\bat .*\.ts:\d+/, 'no stack trace');
    assert.equal(stdout, '');
    assert.deepEqual(await readdir(parent), [], 'nothing written');
  }
  const occupied = path.join(parent, 'occupied');
  await mkdir(occupied);
  await writeFile(path.join(occupied, 'keep.txt'), 'keep');
  const refused = await runCli(['export', model, '--format', 'onnx', '--out', occupied]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /occupied: exists and is not empty \(use --force to replace it\)/);
  assert.deepEqual(await readdir(occupied), ['keep.txt']);
  assert.deepEqual(await leftovers(parent), []);
  const inside = await runCli(['export', model, '--format', 'onnx', '--out', path.join(model, 'onnx-out')]);
  assert.match(inside.stderr, /is inside the input model folder/);
});
