/** `amp-prune report`: run records (+ amp_prune.json, + speed records) -> one self-contained HTML page, written atomically. */
import { access } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FileError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { loadReport, renderReport } from '../../report/index.js';

export interface ReportFlags {
  out: string;
  prune?: string[];
  speed?: string[];
}

export async function reportCommand(runs: string[], flags: ReportFlags): Promise<void> {
  const folder = dirname(resolve(flags.out));
  try {
    await access(folder);
  } catch {
    throw new FileError(folder, 'folder not found (for --out)');
  }
  const data = await loadReport({ runs, prune: flags.prune, speed: flags.speed });
  const html = renderReport(data);
  try {
    await writeFileAtomic(flags.out, html);
  } catch (error) {
    throw new FileError(flags.out, `cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const sections = [`${data.runs.length} run${data.runs.length === 1 ? '' : 's'}`, `${data.prunings.length} pruning record${data.prunings.length === 1 ? '' : 's'}`, `${data.speeds.length} speed record${data.speeds.length === 1 ? '' : 's'}`];
  console.log(`report written to ${flags.out} (${sections.join(', ')}; ${Math.ceil(Buffer.byteLength(html) / 1024)} kB)`);
  for (const note of data.notes) console.log(`note: ${note}`);
}
