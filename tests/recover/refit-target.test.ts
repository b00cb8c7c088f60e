/**
 * --refit-target model end to end against PyTorch hooks + numpy (tests/fixtures/
 * refit_target_reference.py): every repaired o_proj/down_proj (weights and bias) equals numpy's
 * damped least squares from the raw activations, with the partly pruned model's inputs fitted to
 * the DENSE model's own outputs — so the dense stream ran in lockstep and the cross moments sum
 * the right activations. The layer-target solution differs (else the test could not tell).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildCalibration, loadCalibrationCorpus } from '../../src/calib/index.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT, runPython } from '../helpers/python.js';
import { trainedFixture } from '../helpers/trained.js';

const SCRIPT = join(REPO_ROOT, 'tests', 'fixtures', 'refit_target_reference.py');
const WIKITEXT = join(REPO_ROOT, '..', 'shared', 'data', 'wikitext2', 'derived_raw_hf_joined', 'wikitext-test.txt');
const SAMPLES = 16;
const DAMP = 0.1;

let scratch: string;
before(async () => (scratch = await mkdtemp(join(tmpdir(), 'amp-refit-target-'))));
after(() => rm(scratch, { recursive: true, force: true }));

test('--refit-target model: each repaired projection equals numpy\'s refit of the partly pruned model\'s inputs to the dense model\'s activations', async (t) => {
  const model = await trainedFixture();
  const paragraphs = readFileSync(WIKITEXT, 'utf8').replace(/\r/g, '').split('\n').filter((l) => l.trim().length > 200).slice(0, SAMPLES);
  const calib = join(scratch, 'calib.jsonl');
  await writeFile(calib, paragraphs.map((text) => JSON.stringify({ text })).join('\n') + '\n');
  const out = join(scratch, 'out');
  const r = await runCli(['prune', '--model', model, '--out', out, '--ratio', '0.3', '--recover', 'lsq', '--recover-damp', String(DAMP), '--refit-target', 'model', '--calib', calib, '--calib-samples', String(SAMPLES), '--calib-seq-len', '48']);
  assert.equal(r.code, 0, r.stderr);
  const record = join(out, 'amp_prune.json');
  assert.equal((JSON.parse(readFileSync(record, 'utf8')) as { recovery: { refit_target: string } }).recovery.refit_target, 'model');

  const { sequences } = buildCalibration(await loadCalibrationCorpus(calib), await loadTokenizer(model), { samples: SAMPLES, seqLen: 48, seed: 0, mode: 'prompts' });
  const ids = join(scratch, 'fit-ids.json');
  await writeFile(ids, JSON.stringify(sequences.filter((_, i) => i % 8 !== 7))); // the held-out ones are not fitted
  const ref = JSON.parse(await runPython([SCRIPT, '--dense', model, '--pruned', out, '--record', record, '--ids', ids, '--damp', String(DAMP)])) as {
    layers: Record<'o_proj' | 'down_proj', { model_target: number; layer_target: number }>[];
  };
  let worst = 0;
  let closestOther = Infinity;
  ref.layers.forEach((layer, i) => {
    for (const p of ['o_proj', 'down_proj'] as const) {
      worst = Math.max(worst, layer[p].model_target);
      assert.ok(layer[p].model_target < 1e-3, `layer ${i} ${p}: ${layer[p].model_target} from numpy's model-target refit`);
      if (i > 0 || p === 'down_proj') closestOther = Math.min(closestOther, layer[p].layer_target);
    }
  });
  t.diagnostic(`worst difference ${worst.toExponential(2)}; the layer-target refit is at least ${closestOther.toExponential(2)} away`);
  assert.ok(closestOther > 1e-2, 'the layer-target solution should differ where the pruned and dense inputs differ');
});
