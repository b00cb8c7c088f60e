/** Perplexity tasks (WikiText-2, both conventions). */
import type { Task } from '../task.js';

export const PERPLEXITY_TASKS: readonly Task[] = [];
