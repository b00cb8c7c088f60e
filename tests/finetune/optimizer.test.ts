/**
 * Optimizer steps equal a plain PyTorch loop (peft adapters, torch.optim.AdamW with decoupled
 * weight decay, transformers' warmup schedules, clip_grad_norm_, two micro-batches accumulated per
 * step): the same loss at every step and the same adapters at the end, from peft's own (B = 0)
 * initialisation. Also: the same seed gives bit-identical adapters.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { padBatch } from '../../src/engine/batch.js';
import { GradientEngine } from '../../src/finetune/gradients.js';
import { initLora, LORA_TARGETS } from '../../src/finetune/lora.js';
import type { LoraState } from '../../src/finetune/lora.js';
import { loadModelWeights } from '../../src/finetune/model-weights.js';
import { writePeftAdapter } from '../../src/finetune/peft-adapter.js';
import type { Schedule } from '../../src/finetune/schedule.js';
import { loraParams, Trainer } from '../../src/finetune/trainer.js';
import type { OptimizerOptions, TrainingExample } from '../../src/finetune/trainer.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { fixtureDir, runPython } from '../helpers/python.js';
import { LORA_REFERENCE, relativeError } from './helpers.js';

const ALPACA = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'alpaca', 'alpaca_5000.json');

let scratch: string;
before(async () => (scratch = await mkdtemp(join(tmpdir(), 'amp-ft-opt-'))));
after(() => rm(scratch, { recursive: true, force: true }));

async function examples(dir: string, count: number): Promise<TrainingExample[]> {
  const tokenizer = await loadTokenizer(dir);
  const records = JSON.parse(await readFile(ALPACA, 'utf8')) as { instruction: string; output: string }[];
  return records.slice(0, count).map((r, i) => {
    const ids = tokenizer.encode(`${r.instruction} ${r.output}`).slice(0, 12 + (i % 4) * 3);
    const labelled = new Uint8Array(ids.length);
    labelled.fill(1, 3 + (i % 3));
    return { ids, labelled };
  });
}

/** Step s takes micro-batches of examples (4s, 4s+1) and (4s+2, 4s+3), cycling. */
function plan(ex: TrainingExample[], steps: number): TrainingExample[][][] {
  const at = (k: number) => ex[k % ex.length];
  return Array.from({ length: steps }, (_, s) => [[at(4 * s), at(4 * s + 1)], [at(4 * s + 2), at(4 * s + 3)]]);
}

function stepsJson(steps: TrainingExample[][][]): unknown {
  return steps.map((mbs) =>
    mbs.map((mb) => {
      const tokens = padBatch(mb.map((e) => e.ids), 0);
      const T = tokens.seqLen;
      const row = (f: (i: number) => number) => mb.map((_, b) => Array.from({ length: T }, (_, t) => f(b * T + t)));
      const labelled = new Uint8Array(tokens.ids.length);
      mb.forEach((e, b) => labelled.set(e.labelled, b * T));
      return { ids: row((i) => tokens.ids[i]), mask: row((i) => tokens.mask[i]), labels: row((i) => (labelled[i] && tokens.mask[i] ? tokens.ids[i] : -100)) };
    }),
  );
}

async function train(dir: string, lora: LoraState, steps: TrainingExample[][][], opts: OptimizerOptions): Promise<number[]> {
  const { weights } = await loadModelWeights(dir);
  const engine = new GradientEngine(weights, lora, { loss: { temperature: 1, ceMix: 0 }, session: { threads: 1 } });
  const trainer = new Trainer(engine, lora, opts);
  const losses: number[] = [];
  try {
    for (const s of steps) losses.push((await trainer.step(s)).loss);
  } finally {
    await engine.close();
  }
  return losses;
}

const STEPS = 20;

for (const schedule of ['cosine', 'linear', 'constant'] as Schedule[]) {
  test(`${STEPS} AdamW steps (${schedule} schedule, warmup, weight decay, clipping, accumulation) follow PyTorch + peft`, async (t) => {
    const dir = await fixtureDir('llama-mha');
    const { weights } = await loadModelWeights(dir);
    const lora = initLora(weights.spec, { rank: 4, alpha: 8, targets: [...LORA_TARGETS] }, 3);
    const caseDir = join(scratch, schedule);
    await mkdir(join(caseDir, 'adapter'), { recursive: true });
    await writePeftAdapter(join(caseDir, 'adapter'), lora, dir);
    const steps = plan(await examples(dir, 10), STEPS);
    const opts: OptimizerOptions = { lr: 5e-3, warmup: 3, schedule, totalSteps: STEPS, weightDecay: 0.05, gradClip: 1.0 };
    await writeFile(join(caseDir, 'steps.json'), JSON.stringify(stepsJson(steps)));

    const ours = await train(dir, lora, steps, opts);
    const refOut = await runPython([
      LORA_REFERENCE, 'train', '--model', dir, '--adapter', join(caseDir, 'adapter'), '--steps', join(caseDir, 'steps.json'),
      '--lr', String(opts.lr), '--warmup', String(opts.warmup), '--schedule', schedule, '--total', String(STEPS),
      '--weight-decay', String(opts.weightDecay), '--grad-clip', String(opts.gradClip),
    ]);
    const ref = JSON.parse(refOut.trim().split('\n').pop()!) as { losses: number[]; params: Record<string, number[]> };
    const curveErr = Math.max(...ours.map((l, i) => Math.abs(l - ref.losses[i]) / ref.losses[i]));
    t.diagnostic(`loss ${ours[0].toFixed(4)} -> ${ours.at(-1)!.toFixed(4)} (peft ${ref.losses[0].toFixed(4)} -> ${ref.losses.at(-1)!.toFixed(4)}), worst step error ${curveErr.toExponential(2)}`);
    assert.ok(ours.at(-1)! < ours[0], 'training lowers the loss');
    assert.ok(curveErr <= 1e-3, `loss curve differs from PyTorch by ${curveErr}`);
    let worst = 0;
    for (const layer of lora.layers) {
      for (const ad of layer) {
        for (const [which, mine] of [['A', ad.a], ['B', ad.b]] as const) {
          const theirs = ref.params[`base_model.model.${ad.module}.lora_${which}.default.weight`];
          assert.ok(theirs, ad.module);
          worst = Math.max(worst, relativeError(mine, theirs));
        }
      }
    }
    t.diagnostic(`final adapters: worst relative error ${worst.toExponential(2)}`);
    assert.ok(worst <= 1e-3, `final adapters differ from PyTorch by ${worst}`);
  });
}

test('same seed, same data: bit-identical adapters', async () => {
  const dir = await fixtureDir('llama-mha');
  const steps = plan(await examples(dir, 6), 3);
  const opts: OptimizerOptions = { lr: 1e-2, warmup: 1, schedule: 'cosine', totalSteps: 3, weightDecay: 0.01, gradClip: 1 };
  const runs: Float32Array[][] = [];
  for (let i = 0; i < 2; i++) {
    const { weights } = await loadModelWeights(dir);
    const lora = initLora(weights.spec, { rank: 4, alpha: 8, targets: ['q', 'v', 'down'] }, 11);
    await train(dir, lora, steps, opts);
    runs.push(loraParams(lora));
  }
  runs[0].forEach((p, i) => assert.deepEqual(Buffer.from(p.buffer), Buffer.from(runs[1][i].buffer)));
});
