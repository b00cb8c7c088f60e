/** Input records: run-record checks, lenient speed records, and deltas that know which way is better. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FileError } from '../../src/errors.js';
import { handMadeFinetuneRecord, handMadePruneRecord } from '../helpers/amp-prune-record.js';
import { delta, lowerIsBetter } from '../../src/report/deltas.js';
import { prunedModel } from '../../src/report/prune-record.js';
import { baselineIndex, parseRunRecord } from '../../src/report/run-record.js';
import { parseSpeedRecord, speedSection } from '../../src/report/speed.js';

describe('delta', () => {
  test('accuracy up is better, perplexity down is better', () => {
    assert.deepEqual(delta('acc', 0.6, 0.4), { text: 'Δ +0.2000 (+50.0%)', className: 'better' });
    assert.deepEqual(delta('word_perplexity', 12, 10), { text: 'Δ +2.0000 (+20.0%)', className: 'worse' });
    assert.deepEqual(delta('bits_per_byte', 0.9, 1), { text: 'Δ −0.1000 (−10.0%)', className: 'better' });
  });
  test('no change, a zero baseline, a tiny change', () => {
    assert.deepEqual(delta('acc', 0.5, 0.5), { text: 'Δ 0', className: 'same' });
    assert.deepEqual(delta('acc', 0.2, 0), { text: 'Δ +0.2000', className: 'better' });
    assert.equal(delta('token_perplexity', 1000.5, 1000).text, 'Δ +0.5000 (+0.050%)');
  });
  test('direction by metric name', () => assert.deepEqual(['acc', 'acc_norm', 'token_perplexity', 'bits_per_byte'].map(lowerIsBetter), [false, false, true, true]));
});

describe('parseRunRecord', () => {
  const record = {
    model: { path: '/m/dense', architecture: 'LlamaForCausalLM', parameters: { embeddings: 1, attention: 2, mlp: 3, norms: 4, lmHead: 5, total: 15 }, pruning: null },
    settings: { tasks: ['piqa', 'wikitext2'], limit: null },
    tasks: {
      wikitext2: { metrics: { bits_per_byte: { value: 1 }, token_perplexity: { value: 9 } }, primary_metric: 'token_perplexity', items: 3 },
      piqa: { metrics: { acc: { value: 0.5, stderr: 0.1 }, acc_norm: { value: 0.6, stderr: 0.1 } }, primary_metric: 'acc_norm', items: 3 },
    },
  };
  test('tasks in the order asked, primary metric first', () => {
    const run = parseRunRecord('r.json', record);
    assert.deepEqual(run.tasks.map((t) => [t.name, t.metrics.map(([m]) => m)]), [['piqa', ['acc_norm', 'acc']], ['wikitext2', ['token_perplexity', 'bits_per_byte']]]);
    assert.equal(run.label, 'dense');
    assert.equal(run.pruning, null);
  });
  test('the first field that is off is named', () => {
    const broken = { ...record, tasks: { piqa: { metrics: { acc: { value: 'high' } } } } };
    assert.throws(() => parseRunRecord('r.json', broken), (e: unknown) => e instanceof FileError && /^r\.json: not an amp-prune eval run record \(tasks\.piqa\.metrics\.acc\.value is not a number\)/.test(e.message));
    const noParams = { ...record, model: { path: '/m' } };
    assert.throws(() => parseRunRecord('r.json', noParams), /model\.parameters is missing/);
  });
  test('baseline: the first unpruned run, else the first', () => {
    const dense = parseRunRecord('d.json', record);
    const pruned = { ...dense, pruning: { method: 'amp', ratioAsked: 0.2, ratioAchieved: 0.2 } };
    assert.equal(baselineIndex([pruned, dense, dense]), 1);
    assert.equal(baselineIndex([pruned, pruned]), 0);
  });
});

describe('prunedModel', () => {
  test('widths before pruning from the scores', () => {
    const record = handMadePruneRecord([{ heads: { kept: [0, 3], scores: [1, 2, 3, 4, 5] }, neurons: { kept: [1, 6], scores: [0, 1, 2, 3, 4, 5, 6, 7] } }]);
    assert.deepEqual(prunedModel('a.json', record)?.layers[0], { layer: 0, heads: { kept: [0, 3], scores: [1, 2, 3, 4, 5], before: 5 }, neurons: { kept: [1, 6], scores: [0, 1, 2, 3, 4, 5, 6, 7], before: 8 } });
  });
  test('a finetuned-only record has nothing to chart', () => {
    assert.notEqual(prunedModel('a.json', handMadePruneRecord([])), null);
    assert.equal(prunedModel('a.json', { finetune: handMadeFinetuneRecord() }), null);
  });
});

describe('speed records', () => {
  test('numbers or {median, min, max}; the baseline first; ratios flattened', () => {
    const record = parseSpeedRecord('s.json', {
      model: { path: '/models/small' },
      prefill: [{ tokens: 64, tokens_per_s: 100 }, { tokens: 'x' }],
      decode: { tokens_per_s: { median: 10, min: 9, max: 11 } },
      baseline: { model: 'big', decode: { tokens_per_s: 5 } },
      ratios: { decode: 2, prefill: { '64': 1.5 }, note: 'text is ignored' },
    });
    assert.deepEqual(record.measurements.map((m) => m.model), ['big', 'small']);
    assert.deepEqual(record.measurements[1].prefill, [{ tokens: 64, tokensPerS: { median: 100, min: null, max: null } }]);
    assert.deepEqual(record.measurements[1].decode, { median: 10, min: 9, max: 11 });
    assert.deepEqual(record.ratios, [['decode', 2], ['prefill.64', 1.5]]);
  });
  test('something else is refused in one line', () => {
    assert.throws(() => parseSpeedRecord('s.json', { tasks: {} }), /s\.json: not an amp-prune bench record/);
  });
  test('decode only: no prefill chart, and still a drawn decode chart', () => {
    const html = speedSection([parseSpeedRecord('s.json', { model: 'm', decode: { tokens_per_s: 12 } })]);
    assert.equal(html.includes('speed-prefill-chart'), false);
    assert.match(html, /id="speed-decode-chart"[^>]*data-marks="1"/);
  });
});
