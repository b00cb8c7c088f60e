/** A whole checkpoint's weights in memory as float32, what training reads every step. */
import { openCheckpoint, WeightReader } from '../engine/checkpoint.js';
import type { ModelWeights } from './gradients.js';

export interface LoadedModel {
  dir: string;
  config: Record<string, unknown>;
  weights: ModelWeights;
}

/** Reads every weight, then closes the files. */
export async function loadModelWeights(dir: string): Promise<LoadedModel> {
  const checkpoint = await openCheckpoint(dir);
  try {
    const reader = new WeightReader(checkpoint.store);
    const globals = await reader.globals(checkpoint.spec);
    const layers = [];
    for (let i = 0; i < checkpoint.spec.numLayers; i++) layers.push(await reader.layer(checkpoint.spec, i));
    return { dir, config: checkpoint.config, weights: { spec: checkpoint.spec, globals, layers } };
  } finally {
    await checkpoint.store.close();
  }
}
