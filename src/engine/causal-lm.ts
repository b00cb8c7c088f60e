/** A loaded model ready to produce logits: checkpoint + whole-model graph + one session. */
import type { ArchSpec } from '../arch/spec.js';
import type { TokenBatch } from './batch.js';
import { openCheckpoint, WeightReader } from './checkpoint.js';
import type { Checkpoint } from './checkpoint.js';
import { buildModelGraph } from './model.js';
import { biasInputName, PreparedBatch } from './prepared-batch.js';
import { OrtSession } from './session.js';
import type { FeedTensor, OutputTensor, SessionOptions } from './session.js';

export class CausalLM {
  private constructor(
    readonly checkpoint: Checkpoint,
    private readonly session: OrtSession,
  ) {}

  get spec(): ArchSpec {
    return this.checkpoint.spec;
  }

  static async load(dir: string, opts: SessionOptions = {}): Promise<CausalLM> {
    const checkpoint = await openCheckpoint(dir);
    const { spec, store } = checkpoint;
    const reader = new WeightReader(store);
    const globals = await reader.globals(spec);
    const layers = [];
    for (let i = 0; i < spec.numLayers; i++) layers.push(await reader.layer(spec, i));
    const graph = buildModelGraph(spec, { globals, layers });
    const session = await OrtSession.create(graph, opts);
    return new CausalLM(checkpoint, session);
  }

  /** Logits [B, T, V] for a padded batch. */
  async logits(tokens: TokenBatch): Promise<OutputTensor> {
    const batch = new PreparedBatch(this.spec, tokens);
    const feeds: Record<string, FeedTensor> = { input_ids: batch.inputIds(), cos: batch.cos, sin: batch.sin };
    for (const w of batch.windows()) feeds[biasInputName(w)] = batch.attnBias(w);
    const out = await this.session.run(feeds, ['logits']);
    return out.logits;
  }

  async close(): Promise<void> {
    await this.session.release();
    await this.checkpoint.store.close();
  }
}
