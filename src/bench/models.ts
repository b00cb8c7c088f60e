/**
 * What the bench knows about a model before measuring it: the folder to load (a .gguf converted
 * first), its cost from config.json, and the longest prompt it accepts. Read from config and
 * tensor headers only, so bad settings fail before any model loads.
 */
import { resolve } from 'node:path';
import { resolveModel } from '../models/resolve.js';
import { openCheckpoint } from '../engine/checkpoint.js';
import { modelCost } from './flops.js';
import type { ModelSummary } from './record.js';

export async function describeModel(pathOrGguf: string): Promise<ModelSummary> {
  const checkpoint = await resolveModel(pathOrGguf);
  const opened = await openCheckpoint(checkpoint);
  await opened.store.close();
  const cost = modelCost(opened.spec);
  const maxPositions = opened.config.max_position_embeddings;
  return {
    path: resolve(pathOrGguf),
    checkpoint: resolve(checkpoint),
    architecture: opened.spec.architecture,
    parameters: cost.parameters,
    matmul_parameters: cost.matmulParameters,
    flops_per_token: cost.flopsPerToken,
    attention_flops_per_context_token: cost.attentionFlopsPerContextToken,
    max_position_embeddings: typeof maxPositions === 'number' ? maxPositions : null,
  };
}
