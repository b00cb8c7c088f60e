/**
 * Model against baseline: model/baseline of each median, the speedup FLOPs predict, and how much
 * of it was realised. Speedup is "how many times faster": for throughput model/baseline, for a
 * latency baseline/model.
 */
import type { ModelMeasurement, SpeedRatios } from './record.js';

export function speedRatios(model: ModelMeasurement, baseline: ModelMeasurement): SpeedRatios {
  const flopRatio = baseline.model.flops_per_token / model.model.flops_per_token;
  const prefill: Record<string, number> = {};
  const prefillEfficiency: Record<string, number> = {};
  for (const figure of model.prefill) {
    const base = baseline.prefill.find((p) => p.tokens === figure.tokens);
    if (!base) continue;
    const speedup = figure.tokens_per_s.median / base.tokens_per_s.median;
    prefill[String(figure.tokens)] = speedup;
    prefillEfficiency[String(figure.tokens)] = speedup / flopRatio;
  }
  const decode = model.decode.tokens_per_s.median / baseline.decode.tokens_per_s.median;
  const ttft = model.ttft_ms.median / baseline.ttft_ms.median;
  return {
    prefill_tokens_per_s: prefill,
    decode_tokens_per_s: decode,
    ttft_ms: ttft,
    peak_rss_mb: model.peak_rss_mb / baseline.peak_rss_mb,
    parameters: model.model.parameters / baseline.model.parameters,
    flop_ratio: flopRatio,
    efficiency: { prefill: prefillEfficiency, decode: decode / flopRatio, ttft: 1 / ttft / flopRatio },
  };
}
