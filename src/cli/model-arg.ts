/**
 * A command's model argument made ready before the command runs: a built-in model's name is
 * fetched and converted, a .gguf converted, with progress bars and a line saying what is written
 * where (a float32 conversion of a quantized file is several times its size) on stderr.
 */
import { formatBytes } from '../models/fetch.js';
import { resolveModel } from '../models/resolve.js';
import { terminalProgress } from './progress.js';

/** The Hugging Face folder to open for `pathOrName`; a path that is not a model comes back unchanged. */
export async function prepareModel(pathOrName: string): Promise<string> {
  const bar = terminalProgress();
  try {
    return await resolveModel(pathOrName, {
      progress: bar,
      log: (line) => console.error(line),
      convert: {
        planned: ({ dtype, bytes, outDir }) => console.error(`converting to a ${dtype} Hugging Face folder, once (reused afterwards): ${formatBytes(bytes)} on disk in ${outDir}`),
        start: (total) => bar.phase('convert', total),
        tensorDone: (name) => bar.tick(name),
      },
    });
  } finally {
    bar.done();
  }
}
