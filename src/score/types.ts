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
  /** The recovery the method is published with, used when --recover is not given (FLAP: its bias
   *  compensation, from the dense model's activations). */
  defaultRecovery?: { recover: string; propagate: 'pruned' | 'dense' };
}
