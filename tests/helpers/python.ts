/**
 * Test-side bridge to the Python reference (transformers in .venv): tiny fixture checkpoints and
 * reference answers computed by tests/fixtures/reference.py.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FIXTURES_DIR = join(REPO_ROOT, '.cache', 'fixtures');
const MAKE_TINY = join(REPO_ROOT, 'tests', 'fixtures', 'make_tiny.py');
const REFERENCE = join(REPO_ROOT, 'tests', 'fixtures', 'reference.py');

// Building fixtures or running a model on a loaded CI machine can be slow; a hang still ends.
const PYTHON_TIMEOUT_MS = 15 * 60 * 1000;

/** One checkpoint built by make_tiny.py, as listed in its manifest.json. */
export interface FixtureVariant {
  name: string;
  /** transformers class, e.g. LlamaForCausalLM */
  model_class: string;
  /** tokenizer style: llama2, phi3, llama3, gpt2, codegen, qwen2 */
  tokenizer: string;
}

interface FixtureManifest {
  script_sha256: string;
  variants: FixtureVariant[];
}

/** The venv interpreter; throws with the command that creates it when it is missing. */
export function venvPython(): string {
  const python = join(REPO_ROOT, '.venv', 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error(
      `Python reference environment not found at ${python}. Create it with: ` +
        'bash .ci/setup (or: python3 -m venv .venv && .venv/bin/pip install -r requirements-test.txt)',
    );
  }
  return python;
}

/** Runs the venv python with `args`; resolves to stdout, rejects with Python's stderr. */
export function runPython(args: string[]): Promise<string> {
  const python = venvPython();
  const env = { ...process.env, HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' };
  return new Promise((resolve, reject) => {
    execFile(
      python,
      args,
      { cwd: REPO_ROOT, env, timeout: PYTHON_TIMEOUT_MS, maxBuffer: 512 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          const name = args.slice(0, 2).join(' ');
          reject(new Error(`python ${name} failed (${error.message.split('\n')[0]}):\n${stderr}`));
        } else {
          resolve(stdout);
        }
      },
    );
  });
}

async function readManifest(): Promise<FixtureManifest | undefined> {
  try {
    return JSON.parse(await readFile(join(FIXTURES_DIR, 'manifest.json'), 'utf8')) as FixtureManifest;
  } catch {
    return undefined;
  }
}

async function scriptHash(): Promise<string> {
  return createHash('sha256')
    .update(await readFile(MAKE_TINY))
    .digest('hex');
}

let fixturesReady: Promise<FixtureManifest> | undefined;

async function buildFixtures(): Promise<FixtureManifest> {
  const expected = await scriptHash();
  const current = await readManifest();
  // Starting Python and importing torch costs seconds: skip it when the manifest is current.
  if (current?.script_sha256 === expected) return current;
  await runPython([MAKE_TINY, FIXTURES_DIR]);
  const built = await readManifest();
  if (built?.script_sha256 !== expected) throw new Error(`make_tiny.py did not write ${FIXTURES_DIR}/manifest.json`);
  return built;
}

/** Builds the tiny checkpoints once per test process; returns the folder holding one folder per variant. */
export async function ensureFixtures(): Promise<string> {
  fixturesReady ??= buildFixtures();
  await fixturesReady;
  return FIXTURES_DIR;
}

/** Every fixture variant, built. */
export async function fixtureVariants(): Promise<FixtureVariant[]> {
  fixturesReady ??= buildFixtures();
  return (await fixturesReady).variants;
}

/** Folder of one built fixture variant. */
export async function fixtureDir(name: string): Promise<string> {
  const variants = await fixtureVariants();
  if (!variants.some((v) => v.name === name)) throw new Error(`no fixture variant named ${name}`);
  return join(FIXTURES_DIR, name);
}

/** Where a queued request's inputs go, and how its JSON result becomes the caller's value. */
interface QueuedRequest {
  argv: (scratch: string) => Promise<string[]>;
  finish: (result: unknown, scratch: string) => Promise<void>;
  fail: (error: Error) => void;
}

/**
 * Reference requests run together in one Python process (each start costs ~2 s of imports).
 * Queue requests with the methods, then `await batch.run()`; each method's promise settles then.
 */
export class ReferenceBatch {
  private queue: QueuedRequest[] = [];

  private enqueue<T, R>(
    argv: (scratch: string) => Promise<string[]>,
    convert: (result: T, scratch: string) => Promise<R> | R,
  ): Promise<R> {
    const promise = new Promise<R>((resolve, reject) => {
      this.queue.push({
        argv,
        finish: async (result, scratch) => resolve(await convert(result as T, scratch)),
        fail: reject,
      });
    });
    promise.catch(() => undefined); // run() reports the failure; unawaited results must not crash
    return promise;
  }

  /** Runs everything queued so far. */
  async run(): Promise<void> {
    const requests = this.queue;
    this.queue = [];
    if (requests.length === 0) return;
    const scratch = await mkdtemp(join(tmpdir(), 'amp-prune-ref-'));
    try {
      const argvs = await Promise.all(requests.map((r, i) => r.argv(join(scratch, String(i)))));
      const requestsFile = join(scratch, 'requests.json');
      await writeFile(requestsFile, JSON.stringify(argvs));
      const stdout = await runPython([REFERENCE, 'batch', '--requests', requestsFile]);
      const { results } = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { results: unknown[] };
      for (const [i, request] of requests.entries()) await request.finish(results[i], join(scratch, String(i)));
    } catch (error) {
      for (const request of requests) request.fail(error as Error);
      throw error;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** transformers' float32 eager-attention logits for a batch of equal-length id rows. */
  logits(modelDir: string, ids: number[][], mask?: number[][]): Promise<ReferenceLogits> {
    return this.enqueue<{ dims: number[] }, ReferenceLogits>(
      async (scratch) => {
        const argv = ['logits', '--model', modelDir, '--ids', await jsonFile(scratch, 'ids.json', ids)];
        if (mask) argv.push('--mask', await jsonFile(scratch, 'mask.json', mask));
        return [...argv, '--out', join(scratch, 'logits.f32')];
      },
      async ({ dims }, scratch) => {
        const bytes = await readFile(join(scratch, 'logits.f32'));
        // Copy into a fresh buffer: Node's pooled Buffer may not be 4-byte aligned.
        const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
        return { data, dims };
      },
    );
  }

  /** AutoTokenizer(texts[i]).input_ids for each text (or the tokenizers library's ids, see TokenizeOptions). */
  tokenize(modelDir: string, texts: string[], options: TokenizeOptions = {}): Promise<number[][]> {
    return this.enqueue<{ ids: number[][] }, number[][]>(
      async (scratch) => {
        const argv = ['tokenize', '--model', modelDir, '--texts', await jsonFile(scratch, 'texts.json', texts)];
        if (options.addSpecialTokens === false) argv.push('--no-special');
        return [...argv, '--backend', options.backend ?? 'transformers'];
      },
      ({ ids }) => ids,
    );
  }

  /** AutoTokenizer.decode(row) for each row, default options. */
  decode(modelDir: string, rows: number[][]): Promise<string[]> {
    return this.enqueue<{ texts: string[] }, string[]>(
      async (scratch) => ['decode', '--model', modelDir, '--ids', await jsonFile(scratch, 'ids.json', rows)],
      ({ texts }) => texts,
    );
  }

  /** bos/eos/pad ids and len() as AutoTokenizer reports them. */
  specialTokens(modelDir: string): Promise<ReferenceSpecialTokens> {
    type Raw = { bos_id: number | null; eos_id: number | null; pad_id: number | null; vocab_size: number };
    return this.enqueue<Raw, ReferenceSpecialTokens>(
      async () => ['special-tokens', '--model', modelDir],
      (raw) => ({
        bosId: raw.bos_id ?? undefined,
        eosId: raw.eos_id ?? undefined,
        padId: raw.pad_id ?? undefined,
        vocabSize: raw.vocab_size,
      }),
    );
  }

  /** transformers' greedy generate(): the new token ids (it stops after the model's EOS). */
  generate(modelDir: string, prompt: number[], maxNewTokens: number): Promise<number[]> {
    return this.enqueue<{ ids: number[] }, number[]>(
      async (scratch) => ['generate', '--model', modelDir, '--ids', await jsonFile(scratch, 'ids.json', prompt), '--max-new-tokens', String(maxNewTokens)],
      ({ ids }) => ids,
    );
  }

  /** apply_chat_template([{role: user, content: prompt}], add_generation_prompt=True) ids. */
  chatIds(modelDir: string, prompt: string): Promise<number[]> {
    return this.enqueue<{ ids: number[] }, number[]>(
      async () => ['chat', '--model', modelDir, '--prompt', prompt],
      ({ ids }) => ids,
    );
  }

  /** Parameter counts of the transformers model (tied weights counted once). */
  params(modelDir: string): Promise<ReferenceParams> {
    return this.enqueue<{ total: number; by_name: Record<string, number> }, ReferenceParams>(
      async () => ['params', '--model', modelDir],
      (raw) => ({ total: raw.total, byName: raw.by_name }),
    );
  }
}

/** Writes `value` as JSON into the request's scratch folder; returns the argument naming it. */
async function jsonFile(scratch: string, name: string, value: unknown): Promise<string> {
  await mkdir(scratch, { recursive: true });
  const file = join(scratch, name);
  await writeFile(file, JSON.stringify(value));
  return `@${file}`;
}

export interface ReferenceLogits {
  /** row-major [B, T, V] */
  data: Float32Array;
  dims: number[];
}

export interface TokenizeOptions {
  /** transformers' add_special_tokens; default true */
  addSpecialTokens?: boolean;
  /**
   * 'transformers' (default): AutoTokenizer on the folder. 'tokenizers': tokenizer.json alone
   * through the Rust library, i.e. what the file itself specifies; transformers 5 departs from it
   * where its tokenizer class rebuilds the pipeline (LlamaTokenizer, GPT2Tokenizer, Qwen2Tokenizer).
   */
  backend?: 'transformers' | 'tokenizers';
}

export interface ReferenceSpecialTokens {
  bosId: number | undefined;
  eosId: number | undefined;
  padId: number | undefined;
  /** len(tokenizer): base vocabulary plus added tokens */
  vocabSize: number;
}

export interface ReferenceParams {
  total: number;
  byName: Record<string, number>;
}

/** Runs one request on its own (one Python start). */
async function single<R>(queue: (batch: ReferenceBatch) => Promise<R>): Promise<R> {
  const batch = new ReferenceBatch();
  const result = queue(batch);
  await batch.run();
  return result;
}

export const referenceLogits = (modelDir: string, ids: number[][], mask?: number[][]): Promise<ReferenceLogits> =>
  single((b) => b.logits(modelDir, ids, mask));

export const referenceTokenizeMany = (
  modelDir: string,
  texts: string[],
  options?: TokenizeOptions,
): Promise<number[][]> => single((b) => b.tokenize(modelDir, texts, options));

export const referenceTokenize = async (modelDir: string, text: string, options?: TokenizeOptions): Promise<number[]> =>
  (await referenceTokenizeMany(modelDir, [text], options))[0];

export const referenceDecode = (modelDir: string, rows: number[][]): Promise<string[]> =>
  single((b) => b.decode(modelDir, rows));

export const referenceSpecialTokens = (modelDir: string): Promise<ReferenceSpecialTokens> =>
  single((b) => b.specialTokens(modelDir));

export const referenceGenerate = (modelDir: string, prompt: number[], maxNewTokens: number): Promise<number[]> =>
  single((b) => b.generate(modelDir, prompt, maxNewTokens));
export const referenceParams = (modelDir: string): Promise<ReferenceParams> => single((b) => b.params(modelDir));
