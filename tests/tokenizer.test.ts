/**
 * Our tokenizer against transformers' AutoTokenizer: ids with and without special tokens,
 * special-token ids, vocabulary size and decoding, on every fixture variant and on edited copies
 * reproducing quirks of published configs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileError } from '../src/errors.js';
import { loadTokenizer, type ModelTokenizer } from '../src/io/tokenizer.js';
import {
  REPO_ROOT,
  ReferenceBatch,
  ensureFixtures,
  fixtureVariants,
  type FixtureVariant,
  type ReferenceSpecialTokens,
} from './helpers/python.js';

const WIKITEXT = join(REPO_ROOT, '..', 'shared', 'data', 'wikitext2', 'derived_raw_hf_joined', 'wikitext-test.txt');

function wikitextParagraphs(): string[] {
  // The shared copy has CRLF line endings; the text papers evaluate on has LF.
  const text = readFileSync(WIKITEXT, 'utf8').replaceAll('\r', '');
  return [text.slice(0, 2000), text.slice(200_000, 202_000)];
}

const TRICKY = [
  '',
  '   ',
  '  two leading spaces',
  ' one leading space',
  'trailing spaces   ',
  'naïve café — 東京 🤗 Ünïcödé ½ ß',
  'e\u0301 composed vs é', // NFC matters for Qwen2's normalizer
  'In 1987, π ≈ 3.14159; 1,000,000 and 12345678901 items.',
  'line one\nline two\n\n  indented\n\n\n',
  '\tTabbed\t text\r\nwith CRLF',
  "don't I'LL we've They'RE",
  'special tokens in text: Hello</s> world <s>x <|endoftext|>y <|begin_of_text|>',
];

const TEXTS = [...wikitextParagraphs(), ...TRICKY];

let fixtures = '';
let variants: FixtureVariant[] = [];

before(async () => {
  fixtures = await ensureFixtures();
  variants = await fixtureVariants();
});

describe('tokenizer matches transformers AutoTokenizer', () => {
  let scratch = '';
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'amp-prune-tok-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('on every fixture variant', async () => {
    assert.ok(variants.length >= 12, `expected at least 12 fixture variants, got ${variants.length}`);
    await assertAllMatch(variants.map((v) => ({ label: `${v.name} (${v.tokenizer})`, dir: join(fixtures, v.name) })));
  });

  it('on published config quirks: flags transformers 5 ignores, legacy special-token files', async () => {
    const cases: Record<string, [string, FolderEdit]> = {
      // LLaMA-2-style config asking for EOS too: with a tokenizer.json, transformers 5 follows its post_processor.
      'add_eos_token=true': ['llama-mha', { tokenizerConfig: { add_bos_token: true, add_eos_token: true } }],
      'no post_processor, add_bos_token=true': [
        'llama-mha',
        { tokenizerJson: (json) => (json.post_processor = null), tokenizerConfig: { add_bos_token: true } },
      ],
      'LLaMA-3 with add_bos_token=false': ['llama3-gqa-tied', { tokenizerConfig: { add_bos_token: false } }],
      'special tokens written as objects': [
        'llama-mha',
        {
          tokenizerConfig: {
            bos_token: { __type: 'AddedToken', content: '<s>', lstrip: false, normalized: false, rstrip: false },
            eos_token: { __type: 'AddedToken', content: '</s>', lstrip: false, normalized: false, rstrip: false },
            pad_token: { __type: 'AddedToken', content: '</s>' },
          },
        },
      ],
      'legacy special_tokens_map.json': ['phi', { specialTokensMap: { pad_token: '<|endoftext|>' } }],
    };
    const folders = [];
    for (const [label, [base, edit]] of Object.entries(cases)) {
      const dir = await editedCopy(join(fixtures, base), join(scratch, label.replace(/\W+/g, '-')), edit);
      folders.push({ label, dir });
    }
    await assertAllMatch(folders);
  });

  it('on a LLaMA-2 hub-format tokenizer.json where the text does not start with a space', async () => {
    // Published LLaMA-2/Mistral-v0.1 files prepend "▁" in the normalizer. transformers 5's
    // LlamaTokenizer discards that and uses a Metaspace pre-tokenizer instead, which differs
    // only for text starting with a space or following a special token. We follow the file,
    // as the tokenizers library (and transformers 4) do.
    const dir = await editedCopy(join(fixtures, 'llama-mha'), join(scratch, 'llama2-hub'), {
      tokenizerJson: (json) => {
        json.normalizer = {
          type: 'Sequence',
          normalizers: [
            { type: 'Prepend', prepend: '▁' },
            { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
          ],
        };
        json.pre_tokenizer = null;
      },
      tokenizerConfig: { legacy: false },
    });
    const ordinary = TEXTS.map((t) => t.trimStart()).filter((t) => t !== '' && !/<\/?s>|<\|/.test(t));
    const batch = new ReferenceBatch();
    const fileSays = batch.tokenize(dir, TEXTS, { backend: 'tokenizers' });
    const transformersSays = batch.tokenize(dir, ordinary);
    await batch.run();
    const ours = await loadTokenizer(dir);
    assert.deepEqual(TEXTS.map((t) => ours.encode(t)), await fileSays);
    assert.deepEqual(ordinary.map((t) => ours.encode(t)), await transformersSays);
  });
});

interface FolderEdit {
  tokenizerJson?: (json: Record<string, unknown>) => void;
  tokenizerConfig?: Record<string, unknown>;
  specialTokensMap?: Record<string, unknown>;
}

/** The tokenizer files of `base` (and its config.json: AutoTokenizer reads model_type) with edits applied. */
async function editedCopy(base: string, dir: string, edit: FolderEdit): Promise<string> {
  await mkdir(dir, { recursive: true });
  await copyFile(join(base, 'config.json'), join(dir, 'config.json'));
  const readJson = async (name: string): Promise<Record<string, unknown>> =>
    JSON.parse(await readFile(join(base, name), 'utf8')) as Record<string, unknown>;
  const tokenizerJson = await readJson('tokenizer.json');
  edit.tokenizerJson?.(tokenizerJson);
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  const tokenizerConfig = { ...(await readJson('tokenizer_config.json')), ...edit.tokenizerConfig };
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
  if (edit.specialTokensMap) {
    await writeFile(join(dir, 'special_tokens_map.json'), JSON.stringify(edit.specialTokensMap));
  }
  return dir;
}

/** Compares every folder in one Python process; failures are listed per folder. */
async function assertAllMatch(folders: { label: string; dir: string }[]): Promise<void> {
  const batch = new ReferenceBatch();
  const pending = await Promise.all(folders.map((f) => queueVariant(batch, f.dir)));
  await batch.run();
  const failures: string[] = [];
  for (const [i, folder] of folders.entries()) {
    failures.push(...(await compareVariant(pending[i])).map((p) => `${folder.label}: ${p}`));
  }
  assert.deepEqual(failures, []);
}

interface PendingVariant {
  ours: ModelTokenizer;
  /** our ids with special tokens, which transformers decodes for the decode check */
  oursWithSpecial: number[][];
  withSpecial: Promise<number[][]>;
  withoutSpecial: Promise<number[][]>;
  special: Promise<ReferenceSpecialTokens>;
  decoded: Promise<string[]>;
}

async function queueVariant(batch: ReferenceBatch, modelDir: string): Promise<PendingVariant> {
  const ours = await loadTokenizer(modelDir);
  const oursWithSpecial = TEXTS.map((text) => ours.encode(text));
  return {
    ours,
    oursWithSpecial,
    withSpecial: batch.tokenize(modelDir, TEXTS),
    withoutSpecial: batch.tokenize(modelDir, TEXTS, { addSpecialTokens: false }),
    special: batch.specialTokens(modelDir),
    decoded: batch.decode(modelDir, oursWithSpecial),
  };
}

async function compareVariant(pending: PendingVariant): Promise<string[]> {
  const { ours, oursWithSpecial } = pending;
  const problems: string[] = [];
  const withSpecial = await pending.withSpecial;
  const withoutSpecial = await pending.withoutSpecial;
  TEXTS.forEach((text, i) => {
    const label = JSON.stringify(text.slice(0, 30));
    const a = oursWithSpecial[i];
    if (!sameIds(a, withSpecial[i])) problems.push(`encode ${label}: ${firstDifference(a, withSpecial[i])}`);
    const b = ours.encode(text, { addSpecialTokens: false });
    if (!sameIds(b, withoutSpecial[i])) {
      problems.push(`encode ${label} without special tokens: ${firstDifference(b, withoutSpecial[i])}`);
    }
  });

  const expected = await pending.special;
  const actual = { bosId: ours.bosId, eosId: ours.eosId, padId: ours.padId, vocabSize: ours.vocabSize };
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    problems.push(`special tokens ${JSON.stringify(actual)} != transformers ${JSON.stringify(expected)}`);
  }

  const decoded = await pending.decoded;
  oursWithSpecial.forEach((ids, i) => {
    const text = ours.decode(ids);
    if (text !== decoded[i]) {
      const [a, b] = [text, decoded[i]].map((t) => JSON.stringify(t.slice(0, 40)));
      problems.push(`decode: ours ${a}, transformers ${b}`);
    }
  });
  return problems;
}

function sameIds(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

function firstDifference(ours: number[], theirs: number[]): string {
  let i = 0;
  while (i < ours.length && ours[i] === theirs[i]) i++;
  return `first difference at ${i}: ours ${JSON.stringify(ours.slice(i, i + 5))} (of ${ours.length}), ` +
    `transformers ${JSON.stringify(theirs.slice(i, i + 5))} (of ${theirs.length})`;
}

describe('tokenizer errors', () => {
  let scratch = '';
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'amp-prune-tok-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('names the missing tokenizer.json', async () => {
    await assert.rejects(loadTokenizer(scratch), (error: unknown) => {
      assert.ok(error instanceof FileError);
      assert.equal(error.file, join(scratch, 'tokenizer.json'));
      assert.match(error.problem, /^not found — /);
      return true;
    });
  });

  it('rejects a tokenizer.json that is not JSON', async () => {
    await writeFile(join(scratch, 'tokenizer.json'), '{"model": ');
    await assert.rejects(loadTokenizer(scratch), (error: unknown) => {
      assert.ok(error instanceof FileError);
      assert.match(error.problem, /^not valid JSON/);
      return true;
    });
  });

  it('rejects an unsupported tokenizer model in one line', async () => {
    await writeFile(join(scratch, 'tokenizer.json'), JSON.stringify({ model: { type: 'WordLevel', vocab: {} } }));
    await assert.rejects(loadTokenizer(scratch), (error: unknown) => {
      assert.ok(error instanceof FileError);
      assert.equal(error.message.includes('\n'), false);
      assert.match(error.problem, /"WordLevel" is not supported/);
      return true;
    });
  });
});
