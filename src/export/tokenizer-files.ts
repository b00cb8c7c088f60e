/** The tokenizer and generation files that travel with a pruned model unchanged. */

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { CheckpointWriter } from './checkpoint-writer.js';

/** Copied when present; a model has some subset (SentencePiece, BPE, chat template, ...). */
export const TOKENIZER_FILE_NAMES: readonly string[] = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'generation_config.json',
  'tokenizer.model',
  'vocab.json',
  'merges.txt',
  'added_tokens.json',
  'chat_template.jinja',
];

/** Copies whichever tokenizer files `inputDir` has into the output; returns their names. */
export async function copyTokenizerFiles(inputDir: string, writer: CheckpointWriter): Promise<string[]> {
  const copied: string[] = [];
  for (const fileName of TOKENIZER_FILE_NAMES) {
    const source = path.join(inputDir, fileName);
    // stat follows symlinks: Hugging Face cache snapshots link every file into a blob store.
    const stat = await fs.stat(source).catch(() => undefined);
    if (!stat?.isFile()) continue;
    await writer.copyFile(source, fileName);
    copied.push(fileName);
  }
  return copied;
}
