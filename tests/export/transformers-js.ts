/**
 * Test-side bridge to stock transformers.js (@huggingface/transformers, local files only, CPU
 * onnxruntime-node): forward logits with and without its KV cache, and greedy generate().
 */
import { AutoModelForCausalLM, DynamicCache, type PreTrainedModel, Tensor, env } from '@huggingface/transformers';

env.allowRemoteModels = false;
env.allowLocalModels = true;

const THREADS = 2;

export interface TjsModel {
  /** Logits [T, V] of one sequence, no cache. */
  logits(ids: readonly number[]): Promise<Float32Array>;
  /** Logits of ids[split:], after a prefill of ids[:split] whose cache transformers.js keeps. */
  logitsAfterCache(ids: readonly number[], split: number): Promise<Float32Array>;
  /** Greedy generate(): the new tokens (stops after EOS, as transformers.js does). */
  generate(ids: readonly number[], maxNewTokens: number): Promise<number[]>;
  dispose(): Promise<void>;
}

const row = (ids: readonly number[]) => new Tensor('int64', BigInt64Array.from(ids, (x) => BigInt(x)), [1, ids.length]);
const ones = (n: number) => row(new Array<number>(n).fill(1));

export async function loadTjs(dir: string, dtype: 'fp32' | 'fp16' | 'q8' | 'q4'): Promise<TjsModel> {
  const model = (await AutoModelForCausalLM.from_pretrained(dir, {
    dtype,
    device: 'cpu',
    local_files_only: true,
    session_options: { intraOpNumThreads: THREADS, interOpNumThreads: 1 },
  })) as PreTrainedModel;
  const forward = (inputs: Record<string, unknown>) => (model as unknown as (x: Record<string, unknown>) => Promise<Record<string, Tensor>>)(inputs);
  return {
    async logits(ids) {
      const out = await forward({ input_ids: row(ids), attention_mask: ones(ids.length) });
      return Float32Array.from(out.logits.data as Float32Array);
    },
    async logitsAfterCache(ids, split) {
      const first = await forward({ input_ids: row(ids.slice(0, split)), attention_mask: ones(split) });
      // as transformers.js's generate() does: present.N.* become past_key_values.N.*
      const cache = Object.fromEntries(Object.entries(first).filter(([k]) => k.startsWith('present.')).map(([k, v]) => [k.replace('present', 'past_key_values'), v]));
      const rest = await forward({ input_ids: row(ids.slice(split)), attention_mask: ones(ids.length), past_key_values: new DynamicCache(cache) });
      return Float32Array.from(rest.logits.data as Float32Array);
    },
    async generate(ids, maxNewTokens) {
      const out = (await model.generate({ input_ids: row(ids), attention_mask: ones(ids.length), max_new_tokens: maxNewTokens, do_sample: false } as never)) as Tensor;
      return Array.from(out.data as BigInt64Array, Number).slice(ids.length);
    },
    dispose: async () => {
      await model.dispose();
    },
  };
}
