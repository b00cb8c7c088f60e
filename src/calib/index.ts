/** Calibration: loading texts (a file or the built-in default) and sampling token sequences. */
export type {
  Calibration,
  CalibrationCorpus,
  CalibrationDescription,
  CalibrationFormat,
  CalibrationTokenizer,
  SamplingMode,
  SamplingOptions,
} from './types.js';
export { CALIBRATION_FORMATS, SAMPLING_MODES } from './types.js';
export { DEFAULT_SEED, DEFAULT_WINDOW_LENGTH, defaultSamples, defaultSamplingMode } from './defaults.js';
export { loadCalibrationCorpus } from './load.js';
export { loadCalibrationFile, type LoadCalibrationOptions } from './load-file.js';
export { DEFAULT_CORPUS_PACKAGE, loadDefaultCorpus } from './default-corpus.js';
export { alpacaPrompt, type AlpacaRecord } from './alpaca.js';
export { buildCalibration } from './build.js';
