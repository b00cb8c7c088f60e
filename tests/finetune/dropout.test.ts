/**
 * LoRA dropout: with the masks our seeded generator draws handed to peft in place of its own
 * lora_dropout draws, the loss and every LoRA gradient equal PyTorch autograd's (MHA with all seven
 * projections; Phi's parallel residual with distillation; GQA on q,v only; Phi-3's fused qkv_proj
 * and gate_up_proj, one mask per fused module as peft draws it). A vanishing p gives the
 * no-dropout (merged-weight) path's gradients; the same key draws the same masks, another key others.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { adapterMask } from '../../src/finetune/dropout.js';
import { GradientEngine, zeroGrads } from '../../src/finetune/gradients.js';
import type { LoraGrads } from '../../src/finetune/gradients.js';
import { LORA_TARGETS } from '../../src/finetune/lora.js';
import type { LoraState, LoraTarget } from '../../src/finetune/lora.js';
import type { ModelWeights } from '../../src/finetune/gradients.js';
import { loadModelWeights } from '../../src/finetune/model-weights.js';
import { labelledCount, nextTokenTargets } from '../../src/finetune/targets.js';
import type { TokenBatch } from '../../src/engine/batch.js';
import { fixtureDir } from '../helpers/python.js';
import { noisyLora, referenceGrads, relativeError, textBatch } from './helpers.js';

const TOLERANCE = 1e-4;
const NOISE_KEY = 12345;

let scratch: string;
before(async () => (scratch = await mkdtemp(join(tmpdir(), 'amp-ft-dropout-'))));
after(() => rm(scratch, { recursive: true, force: true }));

async function ourGrads(weights: ModelWeights, lora: LoraState, tokens: TokenBatch, labelled: Uint8Array, teacher?: ModelWeights, kd?: { temperature: number; ceMix: number }): Promise<{ loss: number; grads: LoraGrads }> {
  const engine = new GradientEngine(weights, lora, { loss: { temperature: kd?.temperature ?? 1, ceMix: kd?.ceMix ?? 0 }, teacher, chunkTokens: 9, session: { threads: 1 } });
  const grads = zeroGrads(lora);
  try {
    const loss = await engine.accumulate(tokens, nextTokenTargets(tokens, labelled, 1 / labelledCount(tokens, labelled)), grads, NOISE_KEY);
    return { loss, grads };
  } finally {
    await engine.close();
  }
}

const CASES: { name: string; model: string; p: number; targets?: LoraTarget[]; teacher?: string }[] = [
  { name: 'llama-mha, CE, p 0.3', model: 'llama-mha', p: 0.3 },
  { name: 'phi (parallel residual), KD + 0.2 CE from the unadapted model, p 0.5', model: 'phi', p: 0.5, teacher: 'phi' },
  { name: 'llama3-gqa-tied, q,v only, p 0.1', model: 'llama3-gqa-tied', p: 0.1, targets: ['q', 'v'] },
  { name: 'phi3-gqa-partial (fused qkv_proj, gate_up_proj), p 0.3', model: 'phi3-gqa-partial', p: 0.3 },
];

for (const c of CASES) {
  test(`LoRA gradients under dropout equal peft's with the same masks: ${c.name}`, async (t) => {
    const dir = await fixtureDir(c.model);
    const { weights } = await loadModelWeights(dir);
    const lora = noisyLora(weights.spec, { rank: 4, alpha: 8, dropout: c.p, targets: c.targets ?? [...LORA_TARGETS] }, 3);
    const { tokens, labelled } = await textBatch(dir);
    const kd = c.teacher ? { temperature: 2, ceMix: 0.2 } : undefined;
    const teacher = c.teacher ? (await loadModelWeights(await fixtureDir(c.teacher))).weights : undefined;
    const ours = await ourGrads(weights, lora, tokens, labelled, teacher, kd);

    const rows = tokens.batch * tokens.seqLen;
    const masks: Record<string, number[]> = {};
    let dropped = 0;
    let total = 0;
    lora.layers.forEach((layer, i) =>
      layer.forEach((ad, j) => {
        const m = adapterMask(c.p, NOISE_KEY, i, j, rows, ad.inFeatures);
        for (const v of m) dropped += v === 0 ? 1 : 0;
        total += m.length;
        masks[`base_model.model.${ad.module}`] = Array.from(m);
      }),
    );
    t.diagnostic(`dropped ${(dropped / total).toFixed(3)} of adapter inputs (p ${c.p})`);
    assert.ok(Math.abs(dropped / total - c.p) < 0.05, 'the masks drop about p of the inputs');
    const caseDir = await mkdtemp(join(scratch, 'case-'));
    const ref = await referenceGrads(caseDir, dir, lora, tokens, labelled, c.teacher && kd ? { teacher: await fixtureDir(c.teacher), ...kd } : undefined, masks);
    assert.ok(Math.abs(ours.loss - ref.loss) / Math.abs(ref.loss) <= TOLERANCE, `loss ${ours.loss} vs ${ref.loss}`);
    let worst = 0;
    lora.layers.forEach((layer, i) =>
      layer.forEach((ad, j) => {
        for (const [which, g] of [['A', ours.grads[i][j].a], ['B', ours.grads[i][j].b]] as const) {
          const name = `base_model.model.${ad.module}.lora_${which}.weight`;
          const theirs = ref.grads.get(name);
          assert.ok(theirs, `peft has no gradient ${name}`);
          const err = relativeError(g, theirs);
          worst = Math.max(worst, err);
          assert.ok(err <= TOLERANCE, `${name}: relative error ${err}`);
        }
      }),
    );
    t.diagnostic(`loss ours ${ours.loss.toFixed(6)} peft ${ref.loss.toFixed(6)}; worst relative gradient error ${worst.toExponential(2)}`);
  });
}

test('a vanishing dropout gives the no-dropout gradients; the noise key picks the masks', async () => {
  const dir = await fixtureDir('llama-mha');
  const { weights } = await loadModelWeights(dir);
  const { tokens, labelled } = await textBatch(dir);
  const config = { rank: 4, alpha: 8, targets: [...LORA_TARGETS] };
  const plain = await ourGrads(weights, noisyLora(weights.spec, config, 5), tokens, labelled);
  const tiny = await ourGrads(weights, noisyLora(weights.spec, { ...config, dropout: 1e-12 }, 5), tokens, labelled);
  assert.ok(Math.abs(plain.loss - tiny.loss) <= 1e-6 * Math.abs(plain.loss), `loss ${plain.loss} vs ${tiny.loss}`);
  plain.grads.forEach((layer, i) =>
    layer.forEach((g, j) => {
      assert.ok(relativeError(tiny.grads[i][j].a, Array.from(g.a)) <= 1e-5, `layer ${i} adapter ${j} A`);
      assert.ok(relativeError(tiny.grads[i][j].b, Array.from(g.b)) <= 1e-5, `layer ${i} adapter ${j} B`);
    }),
  );
  assert.deepEqual(adapterMask(0.3, 7, 1, 2, 5, 8), adapterMask(0.3, 7, 1, 2, 5, 8));
  assert.notDeepEqual(adapterMask(0.3, 7, 1, 2, 5, 8), adapterMask(0.3, 8, 1, 2, 5, 8));
  assert.notDeepEqual(adapterMask(0.3, 7, 1, 2, 5, 8), adapterMask(0.3, 7, 1, 3, 5, 8));
});
