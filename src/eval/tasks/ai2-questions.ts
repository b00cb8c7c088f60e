/**
 * AI2's question format, shared by ARC and OpenBookQA releases:
 * {"id", "question": {"stem", "choices": [{"text", "label"}, ...]}, "answerKey"}.
 */
import { arrayField, recordError, stringField } from './data-files.js';
import type { JsonlRecord } from './data-files.js';

export interface Ai2Question {
  stem: string;
  choiceTexts: string[];
  choiceLabels: string[];
  answerKey: string;
}

export function ai2Question(record: JsonlRecord): Ai2Question {
  const choices = arrayField(record, 'question.choices');
  const choiceTexts: string[] = [];
  const choiceLabels: string[] = [];
  choices.forEach((choice, i) => {
    const { text, label } = (typeof choice === 'object' && choice !== null ? choice : {}) as Record<string, unknown>;
    if (typeof text !== 'string' || typeof label !== 'string') {
      throw recordError(record, `question.choices[${i}] needs string "text" and "label"`);
    }
    choiceTexts.push(text);
    choiceLabels.push(label);
  });
  return { stem: stringField(record, 'question.stem'), choiceTexts, choiceLabels, answerKey: stringField(record, 'answerKey') };
}

/** Index of `key` among the choice labels (lm-eval's choices.label.index(...)). */
export function answerIndex(record: JsonlRecord, question: Ai2Question, key: string): number {
  const index = question.choiceLabels.indexOf(key);
  if (index < 0) throw recordError(record, `answerKey "${key}" is not one of the choice labels (${question.choiceLabels.join(', ')})`);
  return index;
}
