/** Which tokens end generation: generation_config.json's eos_token_id, else config.json's, else the tokenizer's EOS. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FileError } from '../errors.js';

const ids = (v: unknown): number[] | undefined => {
  if (typeof v === 'number' && Number.isInteger(v)) return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x))) return v as number[];
  return undefined;
};

async function eosFrom(file: string): Promise<number[] | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return ids((JSON.parse(text) as Record<string, unknown>).eos_token_id);
  } catch (error) {
    throw new FileError(file, `not valid JSON (${(error as Error).message})`);
  }
}

export async function stopTokenIds(modelDir: string, tokenizerEos: number | undefined): Promise<Set<number>> {
  const found = (await eosFrom(path.join(modelDir, 'generation_config.json'))) ?? (await eosFrom(path.join(modelDir, 'config.json')));
  return new Set(found ?? (tokenizerEos === undefined ? [] : [tokenizerEos]));
}
