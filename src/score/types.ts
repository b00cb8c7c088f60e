/** The common signature of every importance method: layer statistics and weights in, scores out. */
import type { ArchSpec, LayerWeightName } from '../arch/spec.js';
import type { LayerScores } from '../plan/types.js';
import type { LayerStats } from './stats.js';

export interface ScoreContext {
  spec: ArchSpec;
  layer: number;
  stats: LayerStats;
  weights: ReadonlyMap<LayerWeightName, Float32Array>;
  seed: number;
}

export type Scorer = (ctx: ScoreContext) => LayerScores;

export interface Method {
  name: string;
  description: string;
  /** Does the method read calibration activations? (random and magnitude do not.) */
  needsCalibration: boolean;
  score: Scorer;
}
