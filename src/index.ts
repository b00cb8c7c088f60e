/** amp-prune as a library: load checkpoints, run them, and (later stages) prune them. */
export { UserError, FileError } from './errors.js';
export { specFromConfig, SUPPORTED_ARCHITECTURES } from './arch/registry.js';
export type { ArchSpec, LayerShape, LayerWeightName } from './arch/spec.js';
export { countParams, layerParams } from './arch/params.js';
export type { ParamCounts } from './arch/params.js';
export { openCheckpoint, WeightReader } from './engine/checkpoint.js';
export type { Checkpoint } from './engine/checkpoint.js';
export { CausalLM } from './engine/causal-lm.js';
export { LayerRunner, embed } from './engine/layer-runner.js';
export { PreparedBatch } from './engine/prepared-batch.js';
export { padBatch } from './engine/batch.js';
export type { TokenBatch } from './engine/batch.js';
export { availableDevices, DEVICES } from './engine/session.js';
export type { Device, SessionOptions, OutputTensor } from './engine/session.js';
export { SafetensorsFile, SafetensorsWriter } from './io/safetensors.js';
export { TensorStore } from './io/tensor-store.js';
