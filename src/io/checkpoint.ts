/**
 * The non-tensor files of a Hugging Face model folder: config.json (the tokenizer files are
 * read by io/tokenizer.ts and copied by export/tokenizer-files.ts).
 * Only generic checks here; what a config must contain is up to the architecture (src/arch/).
 */

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FileError } from '../errors.js';

/** Fails with a FileError unless `modelDir` exists and is a directory. */
export async function statModelDir(modelDir: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await fs.stat(modelDir)).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FileError(modelDir, code === 'ENOENT' ? 'model folder not found' : `cannot read model folder: ${(error as Error).message}`);
  }
  if (!isDirectory) throw new FileError(modelDir, 'not a directory (expected a model folder)');
}

/** config.json of a model folder, parsed; only checked to be a JSON object. */
export async function readModelConfig(modelDir: string): Promise<Record<string, unknown>> {
  await statModelDir(modelDir);
  const configPath = path.join(modelDir, 'config.json');
  let text: string;
  try {
    text = await fs.readFile(configPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileError(configPath, 'not found — is this a Hugging Face model folder?');
    throw new FileError(configPath, `cannot read: ${(error as Error).message}`);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new FileError(configPath, `not valid JSON (${(error as Error).message})`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new FileError(configPath, 'not a JSON object');
  }
  return config as Record<string, unknown>;
}
