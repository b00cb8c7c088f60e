/**
 * WinoGrande (lm-eval `winogrande` = winogrande_xl validation): dev.jsonl with labels in
 * dev-labels.lst. lm-eval scores it by partial evaluation (preprocess_winogrande.py): each option
 * fills the blank to make its own context, sentence[:blank] + option, and the scored continuation
 * is the same for both, " " + sentence[blank + 1:].strip(). Metric acc only.
 */
import { join } from 'node:path';
import { fieldValue, parseJsonl, parseLabels, readDataFile, recordError, stringField } from './data-files.js';
import type { JsonlRecord } from './data-files.js';
import { contextsBeforeContinuation, multipleChoiceTask, withSource } from './multiple-choice.js';
import type { LoadedItems, MultipleChoiceItem } from './multiple-choice.js';
import { pyStrip } from './text.js';

const DATA = 'winogrande/dev.jsonl';
const LABELS = 'winogrande/dev-labels.lst';
/** lm-eval's answer_to_num: option "1" is choice 0. */
const LABEL_VALUES = new Map([
  ['1', 0],
  ['2', 1],
]);

function winograndeItem(record: JsonlRecord, gold: number): MultipleChoiceItem {
  // The file carries its own copy of the answer; a disagreement means mismatched files.
  const answer = fieldValue(record, 'answer');
  if (answer !== undefined && LABEL_VALUES.get(String(answer)) !== gold) {
    throw recordError(record, `"answer" ${JSON.stringify(answer)} disagrees with line ${record.line} of ${LABELS}`);
  }
  const sentence = stringField(record, 'sentence');
  const blank = sentence.indexOf('_');
  if (blank < 0) throw recordError(record, 'the sentence has no blank "_"');
  const options = [stringField(record, 'option1'), stringField(record, 'option2')];
  const contexts = options.map((option) => sentence.slice(0, blank) + option);
  return withSource(contextsBeforeContinuation(contexts, pyStrip(sentence.slice(blank + 1)), gold), record);
}

async function loadWinogrande(dataDir: string, limit: number | undefined): Promise<LoadedItems> {
  const [data, labelBytes] = await Promise.all([
    readDataFile(dataDir, DATA, 'winogrande'),
    readDataFile(dataDir, LABELS, 'winogrande'),
  ]);
  const { records, count } = parseJsonl(join(dataDir, DATA), data, limit);
  const labels = parseLabels(join(dataDir, LABELS), labelBytes, DATA, count, LABEL_VALUES);
  return { items: records.map((r, i) => winograndeItem(r, labels[i])) };
}

export const winogrande = multipleChoiceTask({
  name: 'winogrande',
  description: 'WinoGrande (xl) pronoun resolution, validation (1267 items), partial scoring as lm-eval',
  files: [DATA, LABELS],
  metrics: ['acc'],
  primaryMetric: 'acc',
  load: loadWinogrande,
});
