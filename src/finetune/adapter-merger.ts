/**
 * W' = W + s·B·A for every adapted projection, as one onnxruntime Gemm per weight. Training runs
 * the forward on merged weights and the adapters change every optimizer step, so this merge runs
 * once per step over every projection: in a JavaScript loop it took about 1.5 s per merge of
 * SmolLM2's projections (r·out·in multiply-adds), as a GEMM it takes milliseconds. The written
 * checkpoint keeps lora.ts's float64-accumulated merge, the one compared with peft's.
 */
import type { LayerWeightName } from '../arch/spec.js';
import { ElemType, GraphBuilder, float } from '../engine/graph.js';
import { VERSION } from '../engine/model.js';
import { OrtSession } from '../engine/session.js';
import type { SessionOptions } from '../engine/session.js';
import { loraScale, partB } from './lora.js';
import type { LoraAdapter, LoraConfig } from './lora.js';

function buildMergeGraph(rank: number, scale: number): Uint8Array {
  const g = new GraphBuilder(`amp-prune-lora-merge-r${rank}`);
  const w = g.input('weight', ElemType.FLOAT, ['out', 'in']);
  const a = g.input('lora_a', ElemType.FLOAT, [rank, 'in']);
  const b = g.input('lora_b', ElemType.FLOAT, ['out', rank]);
  g.output(g.op('/merge/Gemm', 'Gemm', [b, a, w], { alpha: float(scale), beta: float(1) }), 'merged', ElemType.FLOAT, ['out', 'in']);
  return g.toBytes(VERSION);
}

export class AdapterMerger {
  private constructor(
    private readonly session: OrtSession,
    private readonly rank: number,
  ) {}

  static async create(config: LoraConfig, session?: SessionOptions): Promise<AdapterMerger> {
    return new AdapterMerger(await OrtSession.create(buildMergeGraph(config.rank, loraScale(config)), session), config.rank);
  }

  /** A layer's weights with its adapters merged in, part by part of a fused module (unadapted weights shared, not copied). */
  async mergedLayer(base: Map<LayerWeightName, Float32Array>, adapters: readonly LoraAdapter[]): Promise<Map<LayerWeightName, Float32Array>> {
    const out = new Map(base);
    for (const ad of adapters) {
      for (const part of ad.parts) {
        const rows = part.rows[1] - part.rows[0];
        const { merged } = await this.session.run({
          weight: { type: 'float32', data: base.get(part.weight)!, dims: [rows, ad.inFeatures] },
          lora_a: { type: 'float32', data: ad.a, dims: [this.rank, ad.inFeatures] },
          lora_b: { type: 'float32', data: partB(ad, part, this.rank), dims: [rows, this.rank] },
        });
        out.set(part.weight, merged.data);
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
