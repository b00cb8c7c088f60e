/** Evaluation tasks by name (`--tasks`), lm-evaluation-harness names where one exists. */
import { UsageError } from '../errors.js';
import { MULTIPLE_CHOICE_TASKS } from './tasks/index.js';
import { PERPLEXITY_TASKS } from './perplexity/index.js';
import type { Task } from './task.js';

export const TASKS: readonly Task[] = [...PERPLEXITY_TASKS, ...MULTIPLE_CHOICE_TASKS];

export function tasksByName(list: string): Task[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError('--tasks is empty');
  return names.map((n) => {
    const t = TASKS.find((x) => x.name === n);
    if (!t) throw new UsageError(`unknown task '${n}' (available: ${TASKS.map((x) => x.name).join(', ')})`);
    return t;
  });
}
