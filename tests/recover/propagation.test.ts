/**
 * The recovery pass against PyTorch hooks: every layer's held-out errors in amp_prune.json
 * (before and after the refit, o_proj and down_proj) are recomputed from a PyTorch forward of the
 * PRUNED output model up to that layer — so they agree only if layer i was calibrated on what
 * layers 0..i−1 produce after they were pruned and repaired, the Gram taps sum the right
 * activations with the right token weights, and the error formula holds.
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

const SCRIPT = join(REPO_ROOT, 'tests', 'fixtures', 'recovery_reference.py');
const WIKITEXT = join(REPO_ROOT, '..', 'shared', 'data', 'wikitext2', 'derived_raw_hf_joined', 'wikitext-test.txt');
const SAMPLES = 16;

let scratch: string;
let model: string;
let calib: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-propagation-'));
  model = await trainedFixture();
  // 16 paragraphs of real text as JSONL prompts; sequences 7 and 15 are held out
  const paragraphs = readFileSync(WIKITEXT, 'utf8').replace(/\r/g, '').split('\n').filter((l) => l.trim().length > 200).slice(0, SAMPLES);
  calib = join(scratch, 'calib.jsonl');
  await writeFile(calib, paragraphs.map((text) => JSON.stringify({ text })).join('\n') + '\n');
});
after(() => rm(scratch, { recursive: true, force: true }));

interface Pair {
  before: number;
  after: number;
}
interface LayerErrors {
  o_proj: Pair;
  down_proj: Pair;
}

for (const weighting of ['residual', 'tokens'] as const) {
  test(`lsq with propagated calibration (${weighting} weighting): every layer's held-out errors equal PyTorch's on the pruned model`, async () => {
    const out = join(scratch, weighting);
    const args = ['prune', '--model', model, '--out', out, '--ratio', '0.3', '--recover', 'lsq', '--recover-weighting', weighting];
    const r = await runCli([...args, '--calib', calib, '--calib-samples', String(SAMPLES), '--calib-seq-len', '48']);
    assert.equal(r.code, 0, r.stderr);

    const { sequences } = buildCalibration(await loadCalibrationCorpus(calib), await loadTokenizer(model), { samples: SAMPLES, seqLen: 48, seed: 0, mode: 'prompts' });
    const ids = join(scratch, `${weighting}-ids.json`);
    await writeFile(ids, JSON.stringify(sequences.filter((_, i) => i % 8 === 7)));
    const record = join(out, 'amp_prune.json');
    const ref = JSON.parse(await runPython([SCRIPT, '--dense', model, '--pruned', out, '--record', record, '--ids', ids, '--weighting', weighting])) as { layers: LayerErrors[] };
    const ours = (JSON.parse(readFileSync(record, 'utf8')) as { layers: { recovery: LayerErrors }[] }).layers.map((l) => l.recovery);

    assert.equal(ours.length, ref.layers.length);
    let improved = 0;
    ours.forEach((layer, i) => {
      for (const p of ['o_proj', 'down_proj'] as const) {
        for (const k of ['before', 'after'] as const) {
          const [a, b] = [layer[p][k], ref.layers[i][p][k]];
          assert.ok(Math.abs(a - b) <= 1e-4 + 1e-3 * b, `layer ${i} ${p} ${k}: ours ${a}, PyTorch ${b}`);
        }
        if (layer[p].after < layer[p].before) improved++;
      }
    });
    assert.ok(improved >= ours.length, `the refit should lower most held-out errors (${improved} of ${2 * ours.length})`);
  });
}
