/**
 * OpenBookQA (lm-eval `openbookqa`, `main` config, test split): AI2's Main/test.jsonl.
 * lm-eval openbookqa.yaml: doc_to_text question_stem (no "Question:" frame), doc_to_choice
 * choices.text, doc_to_target choices.label.index(answerKey.lstrip()); metrics acc and acc_norm.
 */
import { join } from 'node:path';
import { ai2Question, answerIndex } from './ai2-questions.js';
import { parseJsonl, readDataFile } from './data-files.js';
import { choicesAfterContext, multipleChoiceTask, withSource } from './multiple-choice.js';
import type { LoadedItems } from './multiple-choice.js';
import { pyLstrip } from './text.js';

const DATA = 'openbookqa/test.jsonl';

async function loadOpenbookqa(dataDir: string, limit: number | undefined): Promise<LoadedItems> {
  const { records } = parseJsonl(join(dataDir, DATA), await readDataFile(dataDir, DATA, 'openbookqa'), limit);
  const items = records.map((r) => {
    const q = ai2Question(r);
    return withSource(choicesAfterContext(q.stem, q.choiceTexts, answerIndex(r, q, pyLstrip(q.answerKey))), r);
  });
  return { items };
}

export const openbookqa = multipleChoiceTask({
  name: 'openbookqa',
  description: 'OpenBookQA (main), test (500 items), as lm-eval scores it',
  files: [DATA],
  metrics: ['acc', 'acc_norm'],
  primaryMetric: 'acc_norm',
  load: loadOpenbookqa,
});
