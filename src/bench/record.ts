/**
 * The speed record that `amp-prune bench --json FILE` writes and `amp-prune report --speed` reads.
 * Field names are a contract with the report: add fields, never rename or retype one.
 *
 * {
 *   tool:     { name: 'amp-prune', version },
 *   model:    ModelSummary,                       the measured model
 *   settings: BenchSettings,                      identical for model and baseline
 *   host:     { platform, arch, cpu, cores, node },
 *   prefill:  [{ tokens, tokens_per_s: Stat }],   one entry per prompt length, ascending
 *   decode:   { tokens, prompt_tokens, tokens_per_s: Stat },
 *   ttft_ms:  Stat,
 *   peak_rss_mb: number,                          one figure per process (see ModelMeasurement)
 *   baseline?: ModelMeasurement,                  with --baseline: the same fields for it
 *   ratios?:  SpeedRatios,                        with --baseline
 *   finished_at: ISO time
 * }
 * A Stat is { median, min, max, runs }: runs lists every timed repeat in measurement order, so a
 * reader may compute other spreads (p10/p90) itself; warm-up runs are not in it.
 */

export interface Stat {
  median: number;
  min: number;
  max: number;
  /** Every timed repeat, in the order measured (warm-up runs excluded). */
  runs: number[];
}

export interface ModelSummary {
  /** The path given (a folder or a .gguf file), absolute. */
  path: string;
  /** The Hugging Face folder actually loaded: `path` itself, or a .gguf's converted cache folder. */
  checkpoint: string;
  architecture: string;
  /** All parameters (embeddings, norms and lm_head included; a tied lm_head counted once). */
  parameters: number;
  /** Weights of the linear layers a token passes through: q, k, v, o, MLP and lm_head (tied or not). */
  matmul_parameters: number;
  /** 2 · matmul_parameters (see flops.ts for what it leaves out). */
  flops_per_token: number;
  /** 4 · Σ_layers heads · head_dim: FLOPs a token spends per earlier token of context (QKᵀ and AV). */
  attention_flops_per_context_token: number;
  max_position_embeddings: number | null;
}

export interface PrefillFigure {
  /** Prompt length in tokens. */
  tokens: number;
  tokens_per_s: Stat;
}

export interface DecodeFigure {
  /** Tokens generated on the KV cache per timed run (the first token, from the prefill, excluded). */
  tokens: number;
  /** Length of the prompt the cache starts from. */
  prompt_tokens: number;
  /** tokens / Σ step seconds, per run. */
  tokens_per_s: Stat;
}

/** Everything measured on one model. */
export interface ModelMeasurement {
  model: ModelSummary;
  prefill: PrefillFigure[];
  decode: DecodeFigure;
  /** Prefill of settings.ttft_prompt_tokens tokens plus the first argmax, in milliseconds. */
  ttft_ms: Stat;
  /**
   * Peak resident memory of the process that measured this model (each model gets its own
   * process), in MB (2^20 bytes): it includes loading the model, not only running it.
   */
  peak_rss_mb: number;
}

export interface BenchSettings {
  prompt_lengths: number[];
  decode_tokens: number;
  ttft_prompt_tokens: number;
  repeats: number;
  warmup: number;
  threads: number | null;
  device: string;
  /** How prompt token ids were made, in words. */
  prompt_ids: string;
  /** Measurement order with a baseline, in words (null without one). */
  order: string | null;
}

/**
 * model/baseline of each figure's median, and the FLOP-based expectation. For throughput a ratio
 * above 1 means the model is faster; for ttft_ms and peak_rss_mb below 1 means it is faster/smaller.
 */
export interface SpeedRatios {
  /** Keyed by prompt length. */
  prefill_tokens_per_s: Record<string, number>;
  decode_tokens_per_s: number;
  ttft_ms: number;
  peak_rss_mb: number;
  parameters: number;
  /** baseline flops_per_token / model flops_per_token: the speedup FLOPs alone predict. */
  flop_ratio: number;
  /** Measured speedup / flop_ratio (1 = the model is as much faster as it is cheaper). */
  efficiency: {
    prefill: Record<string, number>;
    decode: number;
    ttft: number;
  };
}

export interface HostSummary {
  platform: string;
  arch: string;
  cpu: string;
  cores: number;
  node: string;
}

export interface SpeedRecord extends ModelMeasurement {
  tool: { name: 'amp-prune'; version: string };
  settings: BenchSettings;
  host: HostSummary;
  baseline?: ModelMeasurement;
  ratios?: SpeedRatios;
  finished_at: string;
}
