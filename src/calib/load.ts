/** `--calib FILE` when given, else the built-in public-domain text. */
import { loadDefaultCorpus } from './default-corpus.js';
import { loadCalibrationFile, type LoadCalibrationOptions } from './load-file.js';
import type { CalibrationCorpus } from './types.js';

export function loadCalibrationCorpus(
  file: string | undefined,
  options: LoadCalibrationOptions = {},
): Promise<CalibrationCorpus> {
  return file === undefined ? loadDefaultCorpus() : loadCalibrationFile(file, options);
}
