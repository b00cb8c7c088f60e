/**
 * BoolQ (lm-eval `boolq` = SuperGLUE BoolQ, validation split): superglue/val.jsonl.
 * lm-eval super_glue/boolq/default.yaml: doc_to_text "{{passage}}\nQuestion: {{question}}?\nAnswer:",
 * doc_to_choice ["no", "yes"], doc_to_target label (0 = False, 1 = True); metric acc only.
 */
import { join } from 'node:path';
import { fieldValue, parseJsonl, readDataFile, recordError, stringField } from './data-files.js';
import type { JsonlRecord } from './data-files.js';
import { choicesAfterContext, multipleChoiceTask, withSource } from './multiple-choice.js';
import type { LoadedItems } from './multiple-choice.js';

const DATA = 'boolq/superglue/val.jsonl';
const CHOICES = ['no', 'yes'];

/** The answer as an index into CHOICES: the file spells it "true"/"false"; HF exports use 1/0 or booleans. */
function answerIndex(record: JsonlRecord): number {
  const label = fieldValue(record, 'label');
  if (label === true || label === 'true' || label === 1) return 1;
  if (label === false || label === 'false' || label === 0) return 0;
  throw recordError(record, `"label" is ${JSON.stringify(label) ?? 'missing'}, not true/false`);
}

async function loadBoolq(dataDir: string, limit: number | undefined): Promise<LoadedItems> {
  const { records } = parseJsonl(join(dataDir, DATA), await readDataFile(dataDir, DATA, 'boolq'), limit);
  const items = records.map((r) =>
    withSource(choicesAfterContext(`${stringField(r, 'passage')}\nQuestion: ${stringField(r, 'question')}?\nAnswer:`, CHOICES, answerIndex(r)), r),
  );
  return { items };
}

export const boolq = multipleChoiceTask({
  name: 'boolq',
  description: 'BoolQ yes/no questions (SuperGLUE), validation (3270 items), as lm-eval scores it',
  files: [DATA],
  metrics: ['acc'],
  primaryMetric: 'acc',
  load: loadBoolq,
});
