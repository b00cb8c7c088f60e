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
  test(`${fixture}: attention span + MLP span = the whole layer; the attention span's down Gram = the whole layer's`, async () => {
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
              assert.ok(maxRelative(attention.gram![p]![k].data, whole.gram![p]![k].data) < 1e-6, `layer ${layer} ${p} ${k} (${gramWeighting})`);
            }
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
