/**
 * LoRA adapters as a peft adapter folder (adapter_config.json + adapter_model.safetensors), the
 * layout `peft.PeftModel.from_pretrained(base, folder)` loads: tensors named
 * `base_model.model.<module>.lora_A.weight` [r, in] and `.lora_B.weight` [out, r], float32.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeSafetensors } from '../io/safetensors.js';
import type { TensorWithData } from '../io/safetensors.js';
import type { LoraState } from './lora.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** peft's target_modules: the distinct last path components of the adapted modules (q_proj, …). */
export function targetModules(lora: LoraState): string[] {
  const names = new Set<string>();
  for (const layer of lora.layers) for (const ad of layer) names.add(ad.module.split('.').pop()!);
  return [...names];
}

export async function writePeftAdapter(dir: string, lora: LoraState, baseModel: string): Promise<void> {
  const { rank, alpha, dropout = 0 } = lora.config;
  const config = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r: rank,
    lora_alpha: alpha,
    lora_dropout: dropout,
    target_modules: targetModules(lora),
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    use_rslora: false,
    use_dora: false,
    modules_to_save: null,
    rank_pattern: {},
    alpha_pattern: {},
  };
  await writeFile(path.join(dir, ADAPTER_CONFIG), `${JSON.stringify(config, null, 2)}\n`);
  const tensors: TensorWithData[] = [];
  for (const layer of lora.layers) {
    for (const ad of layer) {
      tensors.push({ name: `base_model.model.${ad.module}.lora_A.weight`, dtype: 'F32', shape: [rank, ad.inFeatures], data: bytes(ad.a) });
      tensors.push({ name: `base_model.model.${ad.module}.lora_B.weight`, dtype: 'F32', shape: [ad.outFeatures, rank], data: bytes(ad.b) });
    }
  }
  await writeSafetensors(path.join(dir, ADAPTER_WEIGHTS), tensors, { format: 'pt' });
}
