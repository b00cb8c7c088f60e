/**
 * What a model argument names, as a Hugging Face folder to open: a built-in model's name (fetched
 * and converted into the user cache on first use), a .gguf file (converted once), or a folder.
 * A file or folder of the same name as a built-in model wins over the name.
 */
import { existsSync } from 'node:fs';
import { ensureHfCheckpoint } from '../convert/ensure-hf.js';
import type { ConvertProgress } from '../convert/gguf-to-hf.js';
import { type FetchOptions, ensureBuiltinGguf } from './fetch.js';
import { type BuiltinModel, builtinModel } from './registry.js';

export interface ResolveOptions extends FetchOptions {
  convert?: ConvertProgress;
}

/** The built-in model `pathOrName` names, unless a file or folder of that name exists. */
export function namedBuiltinModel(pathOrName: string): BuiltinModel | undefined {
  const model = builtinModel(pathOrName);
  return model && !existsSync(pathOrName) ? model : undefined;
}

export async function resolveModel(pathOrName: string, options: ResolveOptions = {}): Promise<string> {
  const model = namedBuiltinModel(pathOrName);
  const source = model ? await ensureBuiltinGguf(model, options) : pathOrName;
  return ensureHfCheckpoint(source, undefined, options.convert);
}
