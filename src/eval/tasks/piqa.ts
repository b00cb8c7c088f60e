/**
 * PIQA (lm-eval `piqa`, validation split): the authors' valid.jsonl with labels in a separate
 * file. lm-eval piqa.yaml: doc_to_text "Question: {{goal}}\nAnswer:", doc_to_choice
 * [sol1, sol2], doc_to_target label; metrics acc and acc_norm.
 */
import { join } from 'node:path';
import { parseJsonl, parseLabels, readDataFile, stringField } from './data-files.js';
import { choicesAfterContext, multipleChoiceTask, withSource } from './multiple-choice.js';
import type { LoadedItems } from './multiple-choice.js';

const DATA = 'piqa/valid.jsonl';
const LABELS = 'piqa/valid-labels.lst';
const LABEL_VALUES = new Map([
  ['0', 0],
  ['1', 1],
]);

async function loadPiqa(dataDir: string, limit: number | undefined): Promise<LoadedItems> {
  const [data, labelBytes] = await Promise.all([readDataFile(dataDir, DATA, 'piqa'), readDataFile(dataDir, LABELS, 'piqa')]);
  const { records, count } = parseJsonl(join(dataDir, DATA), data, limit);
  const labels = parseLabels(join(dataDir, LABELS), labelBytes, DATA, count, LABEL_VALUES);
  const items = records.map((r, i) =>
    withSource(choicesAfterContext(`Question: ${stringField(r, 'goal')}\nAnswer:`, [stringField(r, 'sol1'), stringField(r, 'sol2')], labels[i]), r),
  );
  return { items };
}

export const piqa = multipleChoiceTask({
  name: 'piqa',
  description: 'PIQA physical commonsense, validation (1838 items), as lm-eval scores it',
  files: [DATA, LABELS],
  metrics: ['acc', 'acc_norm'],
  primaryMetric: 'acc',
  load: loadPiqa,
});
