/**
 * Property-based test of the calibration file readers (src/calib/: UTF-8 decoding, format
 * detection, plain text, JSONL, Alpaca JSON): thousands of mutated files, byte-level and
 * structural (records replaced by arbitrary JSON), each read as any of the three formats, either
 * parsed into texts or refused with a one-line UserError, quickly.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { loadCalibrationFile } from '../../src/calib/index.js';
import { CALIBRATION_FORMATS } from '../../src/calib/types.js';
import type { CalibrationFormat } from '../../src/calib/types.js';
import { REPO_ROOT } from '../helpers/python.js';
import { fuzzParameters, mutatedBytes, readsOrRefusesCleanly, withScratch } from './helpers.js';

const ALPACA = join(REPO_ROOT, '..', 'shared', 'data', 'alpaca', 'alpaca_5000.json');

interface Seed {
  name: string;
  bytes: Uint8Array;
}

async function seeds(): Promise<Seed[]> {
  const records = (JSON.parse(await readFile(ALPACA, 'utf8')) as unknown[]).slice(0, 3);
  const encode = (text: string) => new TextEncoder().encode(text);
  return [
    { name: 'calib.json', bytes: encode(JSON.stringify(records, null, 2)) },
    { name: 'calib.jsonl', bytes: encode(records.map((r) => JSON.stringify({ text: (r as { instruction: string }).instruction })).join('\n') + '\n') },
    { name: 'calib.txt', bytes: encode('First document, with some words.\n\nSecond one: ünïcödé and more.\n\n\nThird.\n') },
  ];
}

const format = fc.option(fc.constantFrom<CalibrationFormat>(...CALIBRATION_FORMATS), { nil: undefined });

test('calibration files: byte-mutated txt, jsonl and Alpaca files, read as any format, parse or are refused in one line', { timeout: 120_000 }, async () => {
  await withScratch('calib', async (dir) => {
    for (const seed of await seeds()) {
      const file = join(dir, seed.name);
      await writeFile(file, seed.bytes);
      assert.equal(await readsOrRefusesCleanly(`seed ${seed.name}`, () => loadCalibrationFile(file)), true, `the seed ${seed.name} reads`);
      await fc.assert(
        fc.asyncProperty(mutatedBytes(seed.bytes, seed.bytes.length, 1), format, async (bytes, as) => {
          await writeFile(file, bytes);
          await readsOrRefusesCleanly(`${seed.name} as ${as ?? 'detected'}`, () => loadCalibrationFile(file, { format: as }));
        }),
        { ...fuzzParameters(), numRuns: Math.ceil(fuzzParameters().numRuns! / 2) },
      );
    }
  });
});

test('calibration files: JSON of any shape in Alpaca and JSONL files parses or is refused in one line', { timeout: 120_000 }, async () => {
  await withScratch('calib-json', async (dir) => {
    const json = fc.jsonValue({ maxDepth: 3 });
    const record = fc.oneof(json, fc.record({ instruction: json, input: json, output: json, text: json }, { requiredKeys: [] }));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.array(record, { maxLength: 4 }), json), fc.array(record, { maxLength: 4 }), format, async (alpaca, lines, as) => {
        const alpacaFile = join(dir, 'a.json');
        await writeFile(alpacaFile, JSON.stringify(alpaca));
        await readsOrRefusesCleanly(`alpaca ${JSON.stringify(alpaca).slice(0, 200)}`, () => loadCalibrationFile(alpacaFile, { format: as }));
        const jsonlFile = join(dir, 'l.jsonl');
        await writeFile(jsonlFile, lines.map((l) => JSON.stringify(l)).join('\n'));
        await readsOrRefusesCleanly(`jsonl ${JSON.stringify(lines).slice(0, 200)}`, () => loadCalibrationFile(jsonlFile, { format: as }));
      }),
      fuzzParameters(),
    );
  });
});
