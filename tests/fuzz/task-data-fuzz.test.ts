/**
 * Property-based test of the seven multiple-choice tasks' data readers (src/eval/tasks/: JSONL,
 * label files, the bzip2 decoder and HellaSwag's rendering): each task's loader, given a data
 * folder whose files are mutations of a few real records (byte-level, or a record's field set to
 * arbitrary JSON), either returns items or refuses with a one-line UserError, quickly.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { MULTIPLE_CHOICE_TASKS } from '../../src/eval/tasks/index.js';
import type { MultipleChoiceTask } from '../../src/eval/tasks/multiple-choice.js';
import { REPO_ROOT, runPython } from '../helpers/python.js';
import { RUNS, fuzzParameters, mutatedBytes, readsOrRefusesCleanly, withScratch } from './helpers.js';

const DATA = join(REPO_ROOT, '..', 'shared', 'data');
const SEED_ITEMS = 4;

/** The first lines of a shared data file. */
async function head(relative: string, lines: number): Promise<string> {
  return (await readFile(join(DATA, relative), 'utf8')).split('\n').slice(0, lines).join('\n') + '\n';
}

const WINOGRANDE = [
  { sentence: 'The cup did not fit in the box because _ was too big.', option1: 'the cup', option2: 'the box', answer: '1' },
  { sentence: 'Sam thanked Alex because _ had helped.', option1: 'Sam', option2: 'Alex', answer: '2' },
];

/** Each task's data files (relative path -> text), small and valid. */
async function seedFiles(): Promise<Map<string, Map<string, Uint8Array>>> {
  const encode = (text: string) => new TextEncoder().encode(text);
  const hellaswagText = (await runPython(['-c', 'import bz2, sys; sys.stdout.write(bz2.decompress(open(sys.argv[1], "rb").read())[:4000].decode().split("\\n\\n")[0])', join(DATA, 'hellaswag', 'hellaswag_val_full.txt.bz2')]))
    .split('\n')
    .slice(0, SEED_ITEMS * 6)
    .join('\n');
  const compressed = await runPython(['-c', 'import bz2, sys, base64; sys.stdout.write(base64.b64encode(bz2.compress(sys.argv[1].encode() + b"\\n")).decode())', hellaswagText]);
  const files = new Map<string, Map<string, Uint8Array>>();
  const set = (task: string, entries: [string, string | Uint8Array][]) =>
    files.set(task, new Map(entries.map(([path, content]) => [path, typeof content === 'string' ? encode(content) : content])));
  set('piqa', [['piqa/valid.jsonl', await head('piqa/valid.jsonl', SEED_ITEMS)], ['piqa/valid-labels.lst', await head('piqa/valid-labels.lst', SEED_ITEMS)]]);
  set('hellaswag', [['hellaswag/hellaswag_val_full.txt.bz2', new Uint8Array(Buffer.from(compressed, 'base64'))]]);
  set('winogrande', [['winogrande/dev.jsonl', WINOGRANDE.map((r) => JSON.stringify(r)).join('\n') + '\n'], ['winogrande/dev-labels.lst', '1\n2\n']]);
  set('arc_easy', [['arc_easy/ARC-Easy-Test.jsonl', await head('arc_easy/ARC-Easy-Test.jsonl', SEED_ITEMS)]]);
  set('arc_challenge', [['arc_challenge/ARC-Challenge-Test.jsonl', await head('arc_challenge/ARC-Challenge-Test.jsonl', SEED_ITEMS)]]);
  set('boolq', [['boolq/superglue/val.jsonl', await head('boolq/superglue/val.jsonl', SEED_ITEMS)]]);
  set('openbookqa', [['openbookqa/test.jsonl', await head('openbookqa/test.jsonl', SEED_ITEMS)]]);
  return files;
}

async function writeDataDir(dir: string, files: Map<string, Uint8Array>): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  for (const [relative, bytes] of files) {
    await mkdir(dirname(join(dir, relative)), { recursive: true });
    await writeFile(join(dir, relative), bytes);
  }
}

/** One of the task's files and the bytes it is replaced with. */
interface Replacement {
  name: string;
  bytes: Uint8Array;
}

/** One file of the task replaced by a mutation of itself. */
function mutatedFile(files: Map<string, Uint8Array>): fc.Arbitrary<Replacement> {
  const names = [...files.keys()];
  return fc.constantFrom(...names).chain((name) =>
    mutatedBytes(files.get(name)!, files.get(name)!.length, 1).map((bytes) => ({ name, bytes, [fc.toStringMethod]: () => `${name}: ${fc.stringify(bytes)}` })),
  );
}

/** A JSONL file with one record's field (existing or new) set to arbitrary JSON, or the record replaced. */
function fieldEdited(files: Map<string, Uint8Array>): fc.Arbitrary<Replacement> {
  const jsonl = [...files.keys()].filter((n) => n.endsWith('.jsonl'));
  return fc
    .record({
      name: fc.constantFrom(...jsonl),
      line: fc.nat({ max: SEED_ITEMS - 1 }),
      field: fc.oneof(fc.constantFrom('label', 'answer', 'answerKey', 'question', 'choices', 'goal', 'sol1', 'sentence', 'option1', 'passage', 'question_stem', 'text'), fc.string({ maxLength: 4 })),
      value: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(undefined)),
      whole: fc.boolean(),
    })
    .map(({ name, line, field, value, whole }) => {
      const lines = new TextDecoder().decode(files.get(name)!).split('\n');
      const index = line % Math.max(1, lines.filter((l) => l !== '').length);
      const record = JSON.parse(lines[index]) as Record<string, unknown>;
      if (field in record && typeof record[field] === 'object' && record[field] !== null && !whole) {
        // one level down too: ARC's choices.text, OpenBookQA's question.stem
        const inner = record[field] as Record<string, unknown>;
        inner[Object.keys(inner)[0] ?? 'x'] = value;
      } else {
        record[field] = value;
      }
      lines[index] = whole ? JSON.stringify(value ?? null) : JSON.stringify(record);
      const bytes = new TextEncoder().encode(lines.join('\n'));
      return { name, bytes, [fc.toStringMethod]: () => `${name} line ${index + 1}: ${lines[index].slice(0, 300)}` };
    });
}

const limit = fc.constantFrom(undefined, 1, 3);

function taskNamed(name: string): MultipleChoiceTask {
  const task = MULTIPLE_CHOICE_TASKS.find((t) => t.name === name);
  assert.ok(task, name);
  return task;
}

test('task data files: every task loads its seed and, mutated, loads or refuses in one line', { timeout: 180_000 }, async () => {
  const files = await seedFiles();
  assert.deepEqual([...files.keys()].sort(), MULTIPLE_CHOICE_TASKS.map((t) => t.name).sort(), 'a seed for every task');
  await withScratch('tasks', async (dir) => {
    for (const [name, seed] of files) {
      const task = taskNamed(name);
      await writeDataDir(dir, seed);
      assert.equal(await readsOrRefusesCleanly(`${name} seed`, () => task.load(dir, undefined)), true, `the ${name} seed loads`);
      const edits = [...seed.keys()].some((n) => n.endsWith('.jsonl')) ? fc.oneof(mutatedFile(seed), fieldEdited(seed)) : mutatedFile(seed);
      await fc.assert(
        fc.asyncProperty(edits, limit, async (edit, n) => {
          const file = join(dir, edit.name);
          await writeFile(file, edit.bytes);
          try {
            await readsOrRefusesCleanly(`${name} (limit ${n})`, () => task.load(dir, n));
          } finally {
            await writeFile(file, seed.get(edit.name)!);
          }
        }),
        { ...fuzzParameters(), numRuns: Math.max(1, Math.ceil(RUNS / 6)) },
      );
    }
  });
});
