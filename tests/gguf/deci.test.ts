/**
 * deci GGUFs from an outside writer: tests/fixtures/make_deci_gguf.py lays out per-layer-width
 * pruned folders with gguf-py as llama.cpp's convert_hf_to_gguf DeciModel does (per-layer INT32
 * arrays, every bias written, zero ones too; q/k interleaved per layer), sharing no code with our
 * exporter. No transformers model loads per-layer widths, so the reference is the pruned folder
 * itself under our engine (whose per-layer engine is checked against PyTorch elsewhere):
 *  - F32 (smollm per layer, qwen2 per layer, and one with the head counts given as single UINT32s):
 *    every weight converts to the folder's bits, same widths in config.json, logits within 1e-4;
 *  - Q8_0 (F16 where rows are not whole blocks, as the converter falls back): every weight equals
 *    gguf.quants.dequantize's value for it, logits within 1e-4 of our engine on the folder holding
 *    those dequantized weights;
 *  - Nemotron's attention-free, linear-attention and FFN-free layers, heads not a multiple of KV
 *    heads (in a layer, or between the widest layers' counts, which config.json states), an array
 *    of the wrong length, a value head size unlike the key's, longrope and a tensor the block has
 *    no place for: one error line naming the file, exit 1, nothing written (by `convert`, nor by
 *    `run`'s cache).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GgufFile } from '../../src/io/gguf/reader.js';
import { GgufValueType } from '../../src/io/gguf/metadata.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT, runPython } from '../helpers/python.js';
import { PROMPT, compareFolders, engineLogits, maxAbsDiff, prunedPerLayer, readConfig, widthFields } from './deci-helpers.js';

const TOLERANCE = 1e-4;
const MAKE_DECI = join(REPO_ROOT, 'tests', 'fixtures', 'make_deci_gguf.py');

const scratch = await mkdtemp(join(tmpdir(), 'amp-prune-gguf-deci-'));
after(() => rm(scratch, { recursive: true, force: true }));

const models = {
  smollm: { dir: await prunedPerLayer(scratch, 'smollm', 'smollm', [{ heads: 6, intermediate: 120 }, { heads: 3, intermediate: 90 }]), pre: 'smollm' },
  qwen2: { dir: await prunedPerLayer(scratch, 'qwen2', 'qwen2', [{ heads: 4, intermediate: 120 }, { heads: 2, intermediate: 64 }]), pre: 'qwen2' },
  // same heads in both layers: DeciLM-7B-style single values for the head counts, a list for the FFN
  'smollm-same-heads': { dir: await prunedPerLayer(scratch, 'smollm-same-heads', 'smollm', [{ heads: 6, intermediate: 120 }, { heads: 6, intermediate: 90 }]), pre: 'smollm' },
};
type ModelName = keyof typeof models;

interface Spec {
  model: string;
  out: string;
  type: 'f32' | 'q8_0';
  pre: string;
  scalar?: boolean;
  dequantized?: string;
  break?: string;
}

const readable: { name: string; model: ModelName; type: Spec['type']; scalar?: boolean }[] = [
  { name: 'smollm-f32', model: 'smollm', type: 'f32' },
  { name: 'smollm-q8_0', model: 'smollm', type: 'q8_0' },
  { name: 'qwen2-f32', model: 'qwen2', type: 'f32' },
  { name: 'qwen2-q8_0', model: 'qwen2', type: 'q8_0' },
  { name: 'smollm-same-heads-f32', model: 'smollm-same-heads', type: 'f32', scalar: true },
];

const refusals: [string, RegExp][] = [
  ['attention-free', /layer 1 has no attention \(deci\.attention\.head_count\[1\] 0: a Nemotron attention-free layer\), which our engine cannot run/],
  ['linear-attention', /layer 1 has deci\.attention\.head_count_kv\[1\] 0 with 3 heads \(a Nemotron "linear attention" layer: attn_output alone\), which our engine cannot run/],
  ['ffn-free', /layer 1 has no FFN \(deci\.feed_forward_length\[1\] 0: a Nemotron FFN-free layer\), which our engine cannot run/],
  ['heads-not-multiple', /deci\.attention\.head_count\[0\] 6 is not a multiple of deci\.attention\.head_count_kv\[0\] 5/],
  ['short-array', /metadata deci\.attention\.head_count lists 1 value for deci\.block_count 2/],
  ['widest-not-dividing', /the widest layer's 6 heads are not a multiple of the widest layer's 4 KV heads/],
  ['value-length', /deci\.attention\.value_length 32 differs from the key head size 16/],
  ['longrope', /deci\.rope\.scaling\.type longrope is not supported/],
  ['router', /tensor blk\.0\.ffn_gate_inp\.weight has no place in a deci model/],
];

const file = (name: string) => join(scratch, `${name}.gguf`);
const dequantized = (name: string) => join(scratch, `${name}-dequantized`);
const specs: Spec[] = [
  ...readable.map((r) => ({ model: models[r.model].dir, out: file(r.name), type: r.type, pre: models[r.model].pre, scalar: r.scalar, ...(r.type === 'q8_0' ? { dequantized: dequantized(r.name) } : {}) })),
  ...refusals.map(([kind]) => ({ model: models.smollm.dir, out: file(`broken-${kind}`), type: 'f32' as const, pre: 'smollm', break: kind })),
];
const specFile = join(scratch, 'spec.json');
await writeFile(specFile, JSON.stringify(specs));
await runPython([MAKE_DECI, specFile]);

for (const r of readable) {
  const model = models[r.model];
  test(`${r.name} (gguf-py, DeciModel layout): converts to the ${r.type === 'f32' ? "pruned folder's weights" : 'dequantized weights'} and logits`, async (t) => {
    const out = join(scratch, `${r.name}-hf`);
    const run = await runCli(['convert', file(r.name), '--out', out]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(widthFields(await readConfig(out)), widthFields(await readConfig(model.dir)));

    const reference = r.type === 'f32' ? model.dir : dequantized(r.name);
    if (r.type === 'q8_0') {
      const rounding = await compareFolders(model.dir, reference);
      t.diagnostic(`Q8_0 rounding: max |dequantized - pruned| = ${rounding.maxDiff.toExponential(2)}`);
      assert.ok(rounding.maxDiff > 1e-4, 'the quantized file holds other weights than the folder');
    }
    const tensors = await compareFolders(reference, out);
    t.diagnostic(`max |converted - reference| over all tensors = ${tensors.maxDiff}`);
    assert.deepEqual(tensors.unequal, [], 'every weight converts to the reference bits');
    assert.deepEqual(tensors.extraNonZero, []);

    const ids = (await loadTokenizer(model.dir)).encode(PROMPT);
    const diff = maxAbsDiff(await engineLogits(out, ids), await engineLogits(reference, ids));
    t.diagnostic(`max |logits(converted) - logits(reference)| = ${diff.toExponential(2)}`);
    assert.ok(diff <= TOLERANCE, `${diff} > ${TOLERANCE}`);
  });
}

test('the same-heads file states its head counts as single values, the FFN widths as a list', async () => {
  const gguf = await GgufFile.open(file('smollm-same-heads-f32'));
  try {
    const entry = (key: string) => gguf.metadata.entries.get(key)?.type;
    assert.equal(entry('deci.attention.head_count'), GgufValueType.UINT32);
    assert.equal(entry('deci.attention.head_count_kv'), GgufValueType.UINT32);
    assert.equal(entry('deci.feed_forward_length'), GgufValueType.ARRAY);
  } finally {
    await gguf.close();
  }
});

for (const [kind, message] of refusals) {
  test(`convert refuses a deci file with ${kind}: one line naming the file, exit 1, nothing written`, async () => {
    const input = file(`broken-${kind}`);
    const out = join(scratch, `out-${kind}`);
    const result = await runCli(['convert', input, '--out', out]);
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.ok(lines[0].startsWith(`amp-prune: error: ${input}: `), lines[0]);
    assert.match(lines[0], message);
    assert.ok(!existsSync(out), 'no output folder');
    assert.deepEqual((await readdir(scratch)).filter((f) => f.startsWith(`out-${kind}`)), [], 'no staging folder left');
  });
}

test('run on a refused deci file: the same line, and nothing in the conversion cache', async () => {
  const cache = join(scratch, 'run-cache');
  const result = await runCli(['run', file('broken-attention-free'), '--prompt', 'x'], { env: { XDG_CACHE_HOME: cache } });
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, /broken-attention-free\.gguf: layer 1 has no attention/);
  const root = join(cache, 'amp-prune', 'gguf');
  assert.deepEqual(existsSync(root) ? await readdir(root) : [], []);
});
