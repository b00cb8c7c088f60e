/** The real pretrained model the benches use: the tool's built-in default (see src/models/default-model.ts). */
import { fileURLToPath } from 'node:url';
import { defaultModel, defaultModelGguf } from '../src/models/default-model.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export const realModelGguf = (): Promise<string> => defaultModelGguf((line) => console.error(line));
export const realModel = (): Promise<string> => defaultModel((line) => console.error(line));
