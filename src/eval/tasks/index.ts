/**
 * The multiple-choice tasks, scored as lm-evaluation-harness 0.4.x scores them with its Hugging
 * Face backend (zero-shot): same prompts, same tokenisation of (context, continuation) pairs, same
 * acc / acc_norm and standard errors. `--limit N` evaluates the first N items of each task's file.
 */
import type { MultipleChoiceTask } from './multiple-choice.js';
import { arcChallenge, arcEasy } from './arc.js';
import { boolq } from './boolq.js';
import { hellaswag } from './hellaswag.js';
import { openbookqa } from './openbookqa.js';
import { piqa } from './piqa.js';
import { winogrande } from './winogrande.js';

export const MULTIPLE_CHOICE_TASKS: readonly MultipleChoiceTask[] = [piqa, hellaswag, winogrande, arcEasy, arcChallenge, boolq, openbookqa];
