/**
 * The recovery pass runs half layers (engine LayerSpan): the attention span's h1 followed by the
 * MLP span must give the whole layer's output, and the attention span's down_proj Gram (the
 * MLP computed only as far as its input) must equal the whole layer's — for every token
 * weighting, with padding in the batch. The whole layer is what the PyTorch-referee tests check.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { padBatch } from '../../src/engine/batch.js';
import { openCheckpoint, WeightReader } from '../../src/engine/checkpoint.js';
import { embed, LayerRunner } from '../../src/engine/layer-runner.js';
import { PreparedBatch } from '../../src/engine/prepared-batch.js';
import { relativeError as maxRelative } from '../helpers/compare.js';
import { fixtureDir } from '../helpers/python.js';

for (const fixture of ['llama-mha', 'qwen3', 'llama-bias-headdim']) {
  test(`${fixture}: attention span + MLP span = the whole layer; the attention span's down Gram = the whole layer's; held-out rows give the same sums`, async () => {
    const ckpt = await openCheckpoint(await fixtureDir(fixture));
    const { spec } = ckpt;
    const reader = new WeightReader(ckpt.store);
    const runner = new LayerRunner(spec);
    try {
      const prepared = new PreparedBatch(spec, padBatch([[1, 5, 9, 14, 3, 7, 2], [4, 8, 15, 16]]));
      let hidden = embed((await reader.globals(spec)).get('embed.weight')!, prepared.tokens.ids, spec.hidden);
      for (let layer = 0; layer < spec.numLayers; layer++) {
        const weights = await reader.layer(spec, layer);
        for (const gramWeighting of ['tokens', 'residual'] as const) {
          const whole = await runner.run(layer, hidden, prepared, weights, { gram: ['o', 'down'], gramWeighting });
          const attention = await runner.run(layer, hidden, prepared, weights, { span: 'attention', gram: ['o', 'down'], gramWeighting });
          const mlp = await runner.run(layer, attention.hidden, prepared, weights, { span: 'mlp' });
          assert.ok(maxRelative(mlp.hidden, whole.hidden) < 1e-6, `layer ${layer} output`);
          for (const p of ['o', 'down'] as const) {
            for (const k of ['gram', 'sum', 'weight'] as const) {
              assert.ok(maxRelative(attention.gram![p]![k]!.data, whole.gram![p]![k]!.data) < 1e-6, `layer ${layer} ${p} ${k} (${gramWeighting})`);
            }
          }
          // the rows a held-out batch gives instead: their products are the same sums
          const rows = await runner.run(layer, hidden, prepared, weights, { span: 'attention', gram: ['o', 'down'], gramWeighting, gramOutputs: 'rows' });
          for (const p of ['o', 'down'] as const) {
            const tap = rows.gram![p]!;
            assert.equal(tap.gram, undefined, 'rows only');
            const [N, F] = tap.rows!.rows.dims;
            const x = tap.rows!.rows.data;
            const root = tap.rows!.root.data;
            const gram = new Float64Array(F * F);
            const sum = new Float64Array(F);
            for (let t = 0; t < N; t++) {
              for (let i = 0; i < F; i++) {
                sum[i] += x[t * F + i] * root[t];
                for (let j = 0; j < F; j++) gram[i * F + j] += x[t * F + i] * x[t * F + j];
              }
            }
            assert.ok(maxRelative(gram, whole.gram![p]!.gram!.data) < 1e-5, `layer ${layer} ${p} rows' Gram (${gramWeighting})`);
            assert.ok(maxRelative(sum, whole.gram![p]!.sum!.data) < 1e-5, `layer ${layer} ${p} rows' sum (${gramWeighting})`);
            assert.ok(Math.abs(root.reduce((a, r) => a + r * r, 0) - whole.gram![p]!.weight.data[0]) < 1e-4 * whole.gram![p]!.weight.data[0], `layer ${layer} ${p} weight`);
          }
        }
        hidden = (await runner.run(layer, hidden, prepared, weights)).hidden;
      }
    } finally {
      await runner.close();
      await ckpt.store.close();
    }
  });
}

test('a parallel-residual layer (phi) has no spans', async () => {
  const ckpt = await openCheckpoint(await fixtureDir('phi'));
  const runner = new LayerRunner(ckpt.spec);
  try {
    const prepared = new PreparedBatch(ckpt.spec, padBatch([[1, 2, 3]]));
    const weights = await new WeightReader(ckpt.store).layer(ckpt.spec, 0);
    await assert.rejects(runner.run(0, new Float32Array(3 * ckpt.spec.hidden), prepared, weights, { span: 'mlp' }), /parallel-residual/);
  } finally {
    await runner.close();
    await ckpt.store.close();
  }
});
