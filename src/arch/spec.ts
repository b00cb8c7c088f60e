/**
 * ArchSpec: everything the engine, the scorers and the slicer need to know about one model,
 * derived from its config.json. Weights are addressed by *logical* names (`q.weight`,
 * `down.weight`, ...) that each family maps to its checkpoint tensors — fused tensors
 * (Phi-3's qkv_proj, gate_up_proj) appear as row ranges, so nothing downstream special-cases them.
 */
import type { RopeSpec } from './rope.js';

export type NormKind = 'rms' | 'layernorm';

/** Activation names as transformers' ACT2FN spells them. */
export type Activation = 'silu' | 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'gelu_fast' | 'relu';

/** The widths of one decoder layer; pruning changes exactly these. */
export interface LayerShape {
  heads: number;
  kvHeads: number;
  intermediate: number;
}

export type LayerWeightName =
  | 'attn_norm.weight' | 'attn_norm.bias'
  | 'q.weight' | 'q.bias' | 'k.weight' | 'k.bias' | 'v.weight' | 'v.bias'
  | 'o.weight' | 'o.bias'
  | 'q_norm.weight' | 'q_norm.bias' | 'k_norm.weight' | 'k_norm.bias'
  | 'mlp_norm.weight' | 'mlp_norm.bias'
  | 'gate.weight' | 'gate.bias' | 'up.weight' | 'up.bias' | 'down.weight' | 'down.bias';

/** Where a logical weight lives: a whole checkpoint tensor, or a row range of a fused one. */
export interface WeightSource {
  tensor: string;
  /** [begin, end) rows of a fused 2-D (or 1-D) tensor; absent = the whole tensor. */
  rows?: [number, number];
}

/** The structures pruning removes: query heads, KV heads (with their group), MLP neurons. */
export type Structure = 'head' | 'kvHead' | 'neuron';

/** Where a layer weight's parameters are counted. */
export type Component = 'attention' | 'mlp' | 'norms';

/**
 * A weight cut along one axis into consecutive blocks, one per structure: block i of `axis`
 * belongs to structure i and goes with it. Slicing, plan costs and parameter counts all read this,
 * so a new per-structure tensor is declared once and handled everywhere.
 */
export interface Ownership {
  structure: Structure;
  axis: 'rows' | 'cols';
  /** Rows (or columns) per structure: head_dim for heads, 1 for neurons. */
  block: number;
}

export interface LayerWeight {
  name: LayerWeightName;
  shape: number[];
  source: WeightSource;
  component: Component;
  /** Absent: the weight stays whole whatever is pruned (norms, o and down biases). */
  owner?: Ownership;
}

export type GlobalWeightName = 'embed.weight' | 'final_norm.weight' | 'final_norm.bias' | 'lm_head.weight' | 'lm_head.bias';

export interface GlobalWeight {
  name: GlobalWeightName;
  shape: number[];
  source: WeightSource;
}

export interface ArchSpec {
  /** Registry family: 'llama' | 'phi' | 'phi3'. */
  family: string;
  /** config.json `architectures[0]`, e.g. LlamaForCausalLM. */
  architecture: string;
  modelType: string;
  hidden: number;
  numLayers: number;
  vocab: number;
  headDim: number;
  /** One entry per layer (uniform unless the model was pruned non-uniformly). */
  layers: LayerShape[];
  norm: { kind: NormKind; eps: number };
  /** Per-head normalisation of q and k before RoPE (Qwen3: rms; Phi with qk_layernorm: layernorm). */
  qkNorm?: NormKind;
  activation: Activation;
  /** act(gate(x)) * up(x) (LLaMA, Phi-3) vs act(fc1(x)) (Phi-1.5/2). */
  gatedMlp: boolean;
  /** Phi-1.5/2: x + attn(ln(x)) + mlp(ln(x)) with one shared norm. */
  parallelResidual: boolean;
  rope: RopeSpec;
  /** Per layer: sliding-window size (a query sees only the last N keys), or undefined for full attention. */
  slidingWindows: (number | undefined)[];
  tiedEmbeddings: boolean;
  /** Config keys that make stock loaders declare o_proj and down_proj biases (FLAP and least-squares
   *  recovery write them); {} where the family already has them or its stock modules cannot. */
  outputBiasConfig: Record<string, unknown>;
  /** Does the family's stock config refuse hidden_size that is not a multiple of num_attention_heads,
   *  even with an explicit head_dim? (transformers 5's LlamaConfig does; the others accept it.) */
  stockConfigNeedsHeadsDividingHidden: boolean;
  /** Logical weights of layer i (names, shapes, checkpoint sources). */
  layerWeights(layer: number): LayerWeight[];
  globalWeights(): GlobalWeight[];
  /** The same model with other layer widths (a pruned model). */
  withLayers(layers: LayerShape[]): ArchSpec;
  /** config.json rewritten for new layer shapes (per-layer widths under amp_prune_layer_widths when not uniform). */
  configFor(layers: LayerShape[]): Record<string, unknown>;
}

/** Does layer `layer` of `spec` have logical weight `name`? */
export function hasLayerWeight(spec: ArchSpec, layer: number, name: LayerWeightName): boolean {
  return spec.layerWeights(layer).some((w) => w.name === name);
}
