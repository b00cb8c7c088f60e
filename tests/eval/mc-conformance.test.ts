/**
 * The multiple-choice tasks against lm-evaluation-harness itself (the pinned `lm_eval` package,
 * HF backend, float32): on the first 20 items of every task, for a LLaMA-2-style tokenizer that
 * adds BOS and a GPT-2-style one that adds nothing, our (context, continuation) strings equal
 * lm-eval's, every per-choice log-likelihood is within 1e-4 of lm-eval's, per-item acc/acc_norm
 * are identical, and so are the aggregated metrics and standard errors.
 *
 * lm-eval runs once for everything (tests/fixtures/lm_eval_reference.py): it converts the shared
 * files to the shape of the HF datasets its tasks read and uses its own task definitions
 * (tests/fixtures/lm_eval_tasks/*.yaml only swap the data source).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CausalLM } from '../../src/engine/causal-lm.js';
import type { TaskContext } from '../../src/eval/task.js';
import { DEFAULT_MAX_LENGTH, PairEncoder } from '../../src/eval/tasks/encode-pair.js';
import { originalItem } from '../../src/eval/tasks/hellaswag.js';
import { MULTIPLE_CHOICE_TASKS } from '../../src/eval/tasks/index.js';
import { itemScores } from '../../src/eval/tasks/metrics.js';
import { scoreItems } from '../../src/eval/tasks/multiple-choice.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { fixtureDir, REPO_ROOT, runPython } from '../helpers/python.js';

const DATA_DIR = join(REPO_ROOT, '..', 'shared', 'data');
const LIMIT = 20;
const TOLERANCE = 1e-4;

/**
 * lm-eval sums token log-probabilities in float32, so its total is itself uncertain by a few float32
 * steps at its magnitude (3e-5 at |ll| = 500, which random tiny models reach on long choices).
 */
function tolerance(ll: number): number {
  return TOLERANCE + 4 * 2 ** (Math.floor(Math.log2(Math.abs(ll) || 1)) - 23);
}
const MODELS = ['llama-mha', 'smollm'];

/** Each lm-eval task (tests/fixtures/lm_eval_tasks) and the task of ours it checks. */
const PAIRS: { reference: string; task: string; data: 'shared' | 'converted' }[] = [
  { reference: 'amp_piqa', task: 'piqa', data: 'shared' },
  // The original-format path, on the jsonl the reference script rebuilt (ctx_b split out).
  { reference: 'amp_hellaswag', task: 'hellaswag', data: 'converted' },
  // The .bz2 rendering in ../shared/data, read by our task directly.
  { reference: 'amp_hellaswag_rendering', task: 'hellaswag', data: 'shared' },
  { reference: 'amp_winogrande', task: 'winogrande', data: 'shared' },
  { reference: 'amp_arc_easy', task: 'arc_easy', data: 'shared' },
  { reference: 'amp_arc_challenge', task: 'arc_challenge', data: 'shared' },
  { reference: 'amp_boolq', task: 'boolq', data: 'shared' },
  { reference: 'amp_openbookqa', task: 'openbookqa', data: 'shared' },
];

/** Docs in Rowan/hellaswag's shape that exercise every rule of lm-eval's preprocess. */
const HELLASWAG_PROBES = [
  { activity_label: 'Home and Garden', ctx_a: 'How to paint [title] a fence  well.', ctx_b: 'you SHOULD sand it', endings: [' [step] Sand it. ', 'a  [x] b   c'], label: '2' },
  { activity_label: ' Sports', ctx_a: 'A man [header] runs.\u00a0', ctx_b: 'éLAN vital', endings: ['\u0085x\u001c', '[a]b[c]'], label: '0' },
  { activity_label: 'Empty', ctx_a: 'Nothing follows.', ctx_b: '', endings: ['one', 'two [title] three'], label: '1' },
];

/**
 * (context, continuation) pairs for lm-eval's own tokenisation step: whitespace that moves to the
 * continuation (Python's notion of whitespace), BOS/EOS text at the start, an empty context
 * (replaced by the prefix token), merges across the boundary, non-ASCII text.
 */
const PAIRS_TO_ENCODE: [string, string][] = [
  ['Question: Is it?\nAnswer:', ' yes'],
  ['Answer: ', 'yes'],
  ['Line one\n\n', 'next line'],
  ['tab\t', 'x'],
  ['no-break space\u00a0', 'x'],
  ['next line\u0085', 'x'],
  ['byte order mark\ufeff', 'x'],
  [' ', 'only spaces before'],
  ['', 'no context at all'],
  ['<s> starts with the BOS text', ' more'],
  ['<|endoftext|>starts with the EOS text', ' more'],
  ['caf', 'é and naïve'],
  ['The sun rose over the hill', 's, and the day began.'],
];

interface ReferenceSample {
  doc_id: number;
  arguments: [string, string][];
  loglikelihoods: number[];
  acc: number;
  acc_norm?: number;
}
interface ReferenceTask {
  samples: ReferenceSample[];
  metrics: Record<string, { value: number; stderr: number | null }>;
}
interface ReferenceModel {
  tasks: Record<string, ReferenceTask>;
  encoded_pairs: { context: number[]; continuation: number[] }[];
}
interface ReferenceOutput {
  models: Record<string, ReferenceModel>;
  hellaswag_probes: { query: string; choices: string[]; gold: number }[];
}

let scratch: string;
let reference: ReferenceOutput;
const modelDirs = new Map<string, string>();

before(async () => {
  for (const name of MODELS) modelDirs.set(name, await fixtureDir(name));
  scratch = await mkdtemp(join(tmpdir(), 'amp-prune-mc-'));
  const request = {
    data_dir: DATA_DIR,
    work_dir: scratch,
    limit: LIMIT,
    models: [...modelDirs.values()],
    hellaswag_probes: HELLASWAG_PROBES,
    pairs: PAIRS_TO_ENCODE,
  };
  await writeFile(join(scratch, 'request.json'), JSON.stringify(request));
  const stdout = await runPython([join(REPO_ROOT, 'tests', 'fixtures', 'lm_eval_reference.py'), join(scratch, 'request.json')]);
  reference = JSON.parse(stdout.trim().split('\n').pop() ?? '') as ReferenceOutput;
});
after(() => rm(scratch, { recursive: true, force: true }));

function taskNamed(name: string) {
  const task = MULTIPLE_CHOICE_TASKS.find((t) => t.name === name);
  assert.ok(task, `no task ${name}`);
  return task;
}

test("hellaswag preprocessing equals lm-eval's process_docs", () => {
  const ours = HELLASWAG_PROBES.map((value, i) => originalItem({ file: 'probe', line: i + 1, value }));
  assert.deepEqual(
    ours.map((item) => ({ query: item.requests[0].context, choices: item.choices, gold: item.gold })),
    reference.hellaswag_probes,
  );
});

for (const modelName of MODELS) {
  describe(`lm-eval conformance: ${modelName}`, () => {
    let lm: CausalLM;
    let ctx: Omit<TaskContext, 'dataDir'>;
    before(async () => {
      const dir = modelDirs.get(modelName) ?? (await fixtureDir(modelName));
      lm = await CausalLM.load(dir, { threads: 2 });
      ctx = { model: lm, tokenizer: await loadTokenizer(dir), limit: LIMIT };
    });
    after(() => lm?.close());

    test("tokenisation of (context, continuation) pairs equals lm-eval's", () => {
      const expected = reference.models[modelDirs.get(modelName) ?? ''].encoded_pairs;
      const encoder = new PairEncoder(ctx.tokenizer, lm.maxLength ?? DEFAULT_MAX_LENGTH);
      PAIRS_TO_ENCODE.forEach(([context, continuation], i) => {
        assert.deepEqual(encoder.encodePair(context, continuation), expected[i], JSON.stringify([context, continuation]));
      });
    });

    for (const pair of PAIRS) {
      test(`${pair.reference} vs ${pair.task}`, async (t) => {
        const expected = reference.models[modelDirs.get(modelName) ?? ''].tasks[pair.reference];
        assert.ok(expected, `lm-eval ran no ${pair.reference}`);
        const task = taskNamed(pair.task);
        const taskCtx: TaskContext = { ...ctx, dataDir: pair.data === 'shared' ? DATA_DIR : scratch };
        const { items } = await task.load(taskCtx.dataDir, LIMIT);
        assert.equal(items.length, expected.samples.length);
        const lls = await scoreItems(taskCtx, items);
        let maxDiff = 0;
        for (const [i, sample] of expected.samples.entries()) {
          assert.equal(sample.doc_id, i);
          assert.deepEqual(
            items[i].requests.map((r) => [r.context, r.continuation]),
            sample.arguments,
            `item ${i}: prompt strings differ`,
          );
          for (const [c, ll] of sample.loglikelihoods.entries()) {
            const diff = Math.abs(lls[i][c] - ll);
            maxDiff = Math.max(maxDiff, diff);
            assert.ok(diff <= tolerance(ll), `item ${i} choice ${c}: ours ${lls[i][c]}, lm-eval ${ll}`);
          }
          const scores = itemScores(lls[i], items[i].choices, items[i].gold);
          for (const metric of task.metrics) assert.equal(scores[metric], sample[metric], `item ${i}: ${metric}`);
        }
        const maxLength = lm.maxLength ?? DEFAULT_MAX_LENGTH;
        const encoder = new PairEncoder(taskCtx.tokenizer, maxLength);
        const truncated = items
          .flatMap((item) => item.requests)
          .filter((r) => {
            const pair = encoder.encodePair(r.context, r.continuation);
            return pair.context.length + pair.continuation.length > maxLength + 1;
          }).length;
        if (pair.task === 'boolq') assert.ok(truncated > 0, 'boolq passages should exercise left truncation');
        t.diagnostic(`max |ours - lm-eval| = ${maxDiff.toExponential(2)} over ${items.length} items; ${truncated} requests left-truncated`);

        const result = await task.run(taskCtx);
        assert.deepEqual(Object.keys(result.metrics).sort(), Object.keys(expected.metrics).sort());
        for (const [name, { value, stderr }] of Object.entries(expected.metrics)) {
          assert.equal(result.metrics[name].value, value, `${name}`);
          assert.ok(Math.abs((result.metrics[name].stderr ?? NaN) - (stderr ?? NaN)) <= 1e-12, `${name} stderr`);
        }
      });
    }
  });
}
