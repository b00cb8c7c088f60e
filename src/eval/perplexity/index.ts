/** Perplexity tasks (WikiText-2, both conventions). */
import type { Task } from '../task.js';
import { WIKITEXT2 } from './wikitext2.js';

export const PERPLEXITY_TASKS: readonly Task[] = [WIKITEXT2];
