/**
 * The backward graphs' LoRA gradients and loss equal PyTorch autograd's through transformers + peft
 * (same weights, same adapters, same right-padded batch with a prompt left out of the loss), for
 * cross-entropy and for distillation from a teacher: MHA, GQA with tied embeddings, q/k-norm
 * (Qwen3), biases with an explicit head_dim, per-layer widths, and Phi-3's fused qkv_proj and
 * gate_up_proj (one adapter per fused module, as peft has it), dense and pruned.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GradientEngine, zeroGrads } from '../../src/finetune/gradients.js';
import { LORA_TARGETS } from '../../src/finetune/lora.js';
import { loadModelWeights } from '../../src/finetune/model-weights.js';
import { labelledCount, nextTokenTargets } from '../../src/finetune/targets.js';
import { fixtureDir, runPython } from '../helpers/python.js';
import { LORA_REFERENCE, noisyLora, referenceGrads, relativeError, textBatch } from './helpers.js';

const TOLERANCE = 1e-4;

let scratch: string;
before(async () => (scratch = await mkdtemp(join(tmpdir(), 'amp-ft-grads-'))));
after(() => rm(scratch, { recursive: true, force: true }));

type Widths = { heads: number; kv_heads: number; intermediate: number }[];

/** A per-layer-width copy of a fixture, keeping the first heads, KV heads and neurons of each layer. */
function slicedFixture(fixture: string, widths: Widths): () => Promise<string> {
  return async () => {
    const out = join(scratch, `per-layer-${fixture}`);
    await runPython([LORA_REFERENCE, 'slice', '--model', await fixtureDir(fixture), '--out', out, '--widths', JSON.stringify(widths)]);
    return out;
  };
}

interface Case {
  name: string;
  model: () => Promise<string>;
  kd?: { teacher: () => Promise<string>; temperature: number; ceMix: number };
  targets?: typeof LORA_TARGETS[number][];
}

const CASES: Case[] = [
  { name: 'llama-mha, CE', model: () => fixtureDir('llama-mha') },
  { name: 'llama3-gqa-tied, CE, q,v only', model: () => fixtureDir('llama3-gqa-tied'), targets: ['q', 'v'] },
  { name: 'llama-bias-headdim, CE', model: () => fixtureDir('llama-bias-headdim') },
  { name: 'qwen3 (q/k norm), CE', model: () => fixtureDir('qwen3') },
  { name: 'mistral (sliding window), CE', model: () => fixtureDir('mistral') },
  { name: 'phi (LayerNorm, parallel residual, gelu_new, partial rotary), CE', model: () => fixtureDir('phi') },
  {
    name: 'per-layer widths, KD from the dense model (tau 2)',
    model: slicedFixture('llama3-gqa-tied', [{ heads: 2, kv_heads: 1, intermediate: 100 }, { heads: 4, kv_heads: 2, intermediate: 64 }]),
    kd: { teacher: () => fixtureDir('llama3-gqa-tied'), temperature: 2, ceMix: 0 },
  },
  { name: 'llama-mha, KD + 0.3 CE from another model', model: () => fixtureDir('llama-mha'), kd: { teacher: () => fixtureDir('llama-sharded'), temperature: 1, ceMix: 0.3 } },
  { name: 'phi3 (fused qkv_proj, gate_up_proj), MHA, CE', model: () => fixtureDir('phi3') },
  { name: 'phi3-gqa-partial (fused, GQA, tied, partial rotary), KD + 0.3 CE from the unadapted model', model: () => fixtureDir('phi3-gqa-partial'), kd: { teacher: () => fixtureDir('phi3-gqa-partial'), temperature: 2, ceMix: 0.3 } },
  {
    name: 'phi3 per-layer widths (fewer heads), CE, q,k,v,down only',
    model: slicedFixture('phi3', [{ heads: 2, kv_heads: 2, intermediate: 40 }, { heads: 4, kv_heads: 4, intermediate: 96 }]),
    targets: ['q', 'k', 'v', 'down'],
  },
  {
    name: 'phi3-gqa-partial per-layer widths (fewer heads and KV heads), KD from the dense model',
    model: slicedFixture('phi3-gqa-partial', [{ heads: 2, kv_heads: 1, intermediate: 100 }, { heads: 4, kv_heads: 2, intermediate: 64 }]),
    kd: { teacher: () => fixtureDir('phi3-gqa-partial'), temperature: 2, ceMix: 0 },
  },
];

for (const c of CASES) {
  test(`LoRA gradients equal PyTorch + peft: ${c.name}`, async (t) => {
    const dir = await c.model();
    const caseDir = await mkdtemp(join(scratch, 'case-'));
    const { weights } = await loadModelWeights(dir);
    const lora = noisyLora(weights.spec, { rank: 4, alpha: 8, targets: c.targets ?? [...LORA_TARGETS] }, 7);
    // mistral's window is 6: a 22-token row crosses it
    const { tokens, labelled } = await textBatch(dir);
    const teacherDir = c.kd ? await c.kd.teacher() : undefined;
    const teacher = teacherDir ? (await loadModelWeights(teacherDir)).weights : undefined;
    const engine = new GradientEngine(weights, lora, {
      loss: { temperature: c.kd?.temperature ?? 1, ceMix: c.kd?.ceMix ?? 0 },
      teacher,
      chunkTokens: 7, // several chunks, one of them ragged
      session: { threads: 1 },
    });
    const grads = zeroGrads(lora);
    let loss: number;
    try {
      loss = await engine.accumulate(tokens, nextTokenTargets(tokens, labelled, 1 / labelledCount(tokens, labelled)), grads);
    } finally {
      await engine.close();
    }
    const ref = await referenceGrads(caseDir, dir, lora, tokens, labelled, c.kd && teacherDir ? { teacher: teacherDir, temperature: c.kd.temperature, ceMix: c.kd.ceMix } : undefined);
    const lossErr = Math.abs(loss - ref.loss) / Math.abs(ref.loss);
    t.diagnostic(`loss ours ${loss.toFixed(6)} peft ${ref.loss.toFixed(6)}`);
    assert.ok(lossErr <= TOLERANCE, `loss ${loss} vs ${ref.loss}`);
    let worst = 0;
    let compared = 0;
    lora.layers.forEach((layer, i) =>
      layer.forEach((ad, j) => {
        for (const [which, ours] of [['A', grads[i][j].a], ['B', grads[i][j].b]] as const) {
          const name = `base_model.model.${ad.module}.lora_${which}.weight`;
          const theirs = ref.grads.get(name);
          assert.ok(theirs, `peft has no gradient ${name}`);
          assert.equal(theirs.length, ours.length, name);
          const err = relativeError(ours, theirs);
          worst = Math.max(worst, err);
          assert.ok(err <= TOLERANCE, `${name}: relative error ${err}`);
          compared++;
        }
      }),
    );
    assert.equal(compared, ref.grads.size, 'every peft LoRA parameter compared');
    t.diagnostic(`${compared} tensors, worst relative error ${worst.toExponential(2)}`);
  });
}
