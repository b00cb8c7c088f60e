/**
 * ARC-Easy and ARC-Challenge (lm-eval `arc_easy`, `arc_challenge`; test split), AI2's jsonl.
 * lm-eval arc_easy.yaml: doc_to_text "Question: {{question}}\nAnswer:", doc_to_choice
 * choices.text, doc_to_target choices.label.index(answerKey) (some keys are "1".."4");
 * metrics acc and acc_norm.
 */
import { join } from 'node:path';
import { ai2Question, answerIndex } from './ai2-questions.js';
import { parseJsonl, readDataFile } from './data-files.js';
import { choicesAfterContext, multipleChoiceTask, withSource } from './multiple-choice.js';
import type { LoadedItems, MultipleChoiceTask } from './multiple-choice.js';

function arcTask(name: string, file: string, description: string): MultipleChoiceTask {
  async function load(dataDir: string, limit: number | undefined): Promise<LoadedItems> {
    const { records } = parseJsonl(join(dataDir, file), await readDataFile(dataDir, file, name), limit);
    const items = records.map((r) => {
      const q = ai2Question(r);
      return withSource(choicesAfterContext(`Question: ${q.stem}\nAnswer:`, q.choiceTexts, answerIndex(r, q, q.answerKey)), r);
    });
    return { items };
  }
  return multipleChoiceTask({ name, description, files: [file], metrics: ['acc', 'acc_norm'], primaryMetric: 'acc_norm', load });
}

export const arcEasy = arcTask('arc_easy', 'arc_easy/ARC-Easy-Test.jsonl', 'AI2 ARC-Easy science questions, test (2376 items), as lm-eval scores it');
export const arcChallenge = arcTask(
  'arc_challenge',
  'arc_challenge/ARC-Challenge-Test.jsonl',
  'AI2 ARC-Challenge science questions, test (1172 items), as lm-eval scores it',
);
