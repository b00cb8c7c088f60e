/** The multiple-choice tasks (lm-eval semantics). */
import type { Task } from '../task.js';

export const MULTIPLE_CHOICE_TASKS: readonly Task[] = [];
