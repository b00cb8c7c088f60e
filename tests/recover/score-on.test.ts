/**
 * --score-on pruned against PyTorch hooks: layer i's AMP scores in amp_prune.json equal AMP
 * (tests/fixtures/amp_reference.py) computed on the model made of the OUTPUT model's layers
 * 0..i−1 and the INPUT model's layer i — so each layer was scored on what the already pruned
 * and repaired layers produce — and the kept heads and neurons are the top-scored ones of those
 * scores. The dense model's own scores differ (else the test could not tell the two apart).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildCalibration, loadCalibrationCorpus } from '../../src/calib/index.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { pruneRecordIn } from '../helpers/amp-prune-record.js';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, REPO_ROOT, runPython } from '../helpers/python.js';
import { trainedFixture } from '../helpers/trained.js';

const SCRIPT = join(REPO_ROOT, 'tests', 'fixtures', 'score_on_pruned_reference.py');
const WIKITEXT = join(REPO_ROOT, '..', 'shared', 'data', 'wikitext2', 'derived_raw_hf_joined', 'wikitext-test.txt');
const SAMPLES = 12;

let scratch: string;
let calib: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'amp-score-on-'));
  const paragraphs = readFileSync(WIKITEXT, 'utf8').replace(/\r/g, '').split('\n').filter((l) => l.trim().length > 200).slice(0, SAMPLES);
  calib = join(scratch, 'calib.jsonl');
  await writeFile(calib, paragraphs.map((text) => JSON.stringify({ text })).join('\n') + '\n');
});
after(() => rm(scratch, { recursive: true, force: true }));

interface Scores {
  heads: number[];
  neurons: number[];
}

function worstRelative(ours: readonly number[], ref: readonly number[]): number {
  const scale = Math.max(...ref.map(Math.abs));
  return Math.max(...ref.map((r, i) => Math.abs(ours[i] - r) / Math.max(Math.abs(r), 1e-3 * scale)));
}

/** The k best-scored indices, ascending (ties: the lower index stays). */
function topK(scores: readonly number[], k: number): number[] {
  return scores
    .map((s, i) => ({ s, i }))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .slice(0, k)
    .map((x) => x.i)
    .sort((a, b) => a - b);
}

/** AMP-SPEC's GQA group mode: whole KV groups kept by the mean score of their query heads. */
function keptHeads(scores: readonly number[], kvHeads: number, kept: number): number[] {
  const size = scores.length / kvHeads;
  const groups = Array.from({ length: kvHeads }, (_, g) => scores.slice(g * size, (g + 1) * size).reduce((a, b) => a + b, 0) / size);
  return topK(groups, kept / size).flatMap((g) => Array.from({ length: size }, (_, j) => g * size + j));
}

for (const [name, model, recover] of [
  ['trained tiny LLaMA', trainedFixture, 'lsq'],
  ['phi (parallel residual)', () => fixtureDir('phi'), 'bias'],
] as const) {
  test(`--score-on pruned (${name}, --recover ${recover}): each layer's scores equal PyTorch's AMP on the partly pruned model, and the top-scored structures are kept`, async (t) => {
    const dense = await model();
    const out = join(scratch, recover);
    const r = await runCli(['prune', '--model', dense, '--out', out, '--ratio', '0.3', '--recover', recover, '--score-on', 'pruned', '--calib', calib, '--calib-samples', String(SAMPLES), '--calib-seq-len', '40']);
    assert.equal(r.code, 0, r.stderr);
    const record = await pruneRecordIn(out);
    assert.equal(record.recovery.score_on, 'pruned');

    const { sequences } = buildCalibration(await loadCalibrationCorpus(calib), await loadTokenizer(dense), { samples: SAMPLES, seqLen: 40, seed: 0, mode: 'prompts' });
    const ids = join(scratch, `${recover}-ids.json`);
    await writeFile(ids, JSON.stringify(sequences));
    const ref = JSON.parse(await runPython([SCRIPT, '--dense', dense, '--pruned', out, '--ids', ids])) as { pruned_input: Scores[]; dense_input: Scores[] };

    assert.equal(record.layers.length, ref.pruned_input.length);
    let worst = 0;
    let differsFromDense = 0;
    const config = JSON.parse(readFileSync(join(dense, 'config.json'), 'utf8')) as { num_attention_heads: number; num_key_value_heads?: number };
    const kvHeads = config.num_key_value_heads ?? config.num_attention_heads;
    record.layers.forEach((layer, i) => {
      for (const kind of ['heads', 'neurons'] as const) {
        const ours = layer[kind].scores;
        const theirs = ref.pruned_input[i][kind];
        worst = Math.max(worst, worstRelative(ours, theirs));
        const n = layer[kind].kept.length;
        assert.deepEqual(layer[kind].kept, kind === 'heads' ? keptHeads(theirs, kvHeads, n) : topK(theirs, n), `layer ${i} kept ${kind}`);
        differsFromDense = Math.max(differsFromDense, worstRelative(ours, ref.dense_input[i][kind]));
      }
    });
    t.diagnostic(`worst relative error ${worst.toExponential(2)}; largest difference from dense-input scores ${differsFromDense.toExponential(2)}`);
    assert.ok(worst <= 1e-4, `relative error ${worst}`);
    assert.ok(differsFromDense > 1e-2, 'scores on pruned inputs should differ from the dense model\'s');
  });
}
