/**
 * Rotary position embeddings: inverse frequencies per `rope_type`, and the cos/sin tables the
 * graphs take as inputs. Arithmetic mirrors transformers' float32 steps (Math.fround at each one)
 * so positions in the thousands still agree to float32 rounding.
 */
import { FileError } from '../errors.js';

export interface RopeSpec {
  /** Leading dims of each head that rotate (partial rotary: Phi, Phi-4-mini); even. */
  rotaryDim: number;
  /** Inverse frequencies (rotaryDim/2) and the cos/sin multiplier for a sequence of `seqLen`. */
  frequencies(seqLen: number): { invFreq: Float32Array; scale: number };
}

const f = Math.fround;

type Json = Record<string, unknown>;

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** transformers' default inverse frequencies: 1 / base^(2i/dim), in float32. */
function defaultInvFreq(base: number, dim: number): Float32Array {
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) out[i] = f(1 / f(Math.pow(f(base), f((2 * i) / dim))));
  return out;
}

function llama3InvFreq(inv: Float32Array, p: Json, file: string): Float32Array {
  const factor = num(p.factor);
  const low = num(p.low_freq_factor);
  const high = num(p.high_freq_factor);
  const oldContext = num(p.original_max_position_embeddings);
  if (factor === undefined || low === undefined || high === undefined || oldContext === undefined) {
    throw new FileError(file, 'rope type llama3 needs factor, low_freq_factor, high_freq_factor, original_max_position_embeddings');
  }
  const lowWavelen = oldContext / low;
  const highWavelen = oldContext / high;
  return inv.map((x) => {
    const wavelen = f((2 * Math.PI) / x);
    if (wavelen > lowWavelen) return f(x / factor);
    if (wavelen < highWavelen) return x;
    const smooth = f((oldContext / wavelen - low) / (high - low));
    return f(f(((1 - smooth) * x) / factor) + f(smooth * x));
  });
}

/**
 * Build the RoPE description from a config. Handles both spellings: transformers 4
 * (`rope_theta` + `rope_scaling`) and transformers 5 (`rope_parameters` holding both).
 */
export function ropeFromConfig(config: Json, headDim: number, file: string): RopeSpec {
  const params: Json = { ...((config.rope_scaling as Json | null) ?? {}), ...((config.rope_parameters as Json | null) ?? {}) };
  const base = num(params.rope_theta) ?? num(config.rope_theta) ?? 10000;
  const partial = num(params.partial_rotary_factor) ?? num(config.partial_rotary_factor) ?? 1;
  // transformers truncates: int(head_dim * partial_rotary_factor)
  const rotaryDim = Math.floor(headDim * partial);
  if (rotaryDim % 2 !== 0 || rotaryDim <= 0) throw new FileError(file, `rotary dimension ${rotaryDim} must be positive and even`);
  const type = String(params.rope_type ?? params.type ?? 'default');
  const base_inv = defaultInvFreq(base, rotaryDim);
  switch (type) {
    case 'default':
      return { rotaryDim, frequencies: () => ({ invFreq: base_inv, scale: 1 }) };
    case 'linear': {
      const factor = num(params.factor) ?? 1;
      const inv = base_inv.map((x) => f(x / factor));
      return { rotaryDim, frequencies: () => ({ invFreq: inv, scale: 1 }) };
    }
    case 'llama3': {
      const inv = llama3InvFreq(base_inv, params, file);
      return { rotaryDim, frequencies: () => ({ invFreq: inv, scale: 1 }) };
    }
    case 'longrope':
    case 'su':
      return longRope(config, params, base, rotaryDim, file);
    default:
      throw new FileError(file, `unsupported rope type '${type}' (supported: default, linear, llama3, longrope)`);
  }
}

/** Phi-3's LongRoPE: per-frequency rescaling, short factors up to the original context, long beyond. */
function longRope(config: Json, params: Json, base: number, dim: number, file: string): RopeSpec {
  const short = params.short_factor;
  const long = params.long_factor;
  if (!Array.isArray(short) || !Array.isArray(long) || short.length !== dim / 2 || long.length !== dim / 2) {
    throw new FileError(file, `longrope needs short_factor and long_factor of length ${dim / 2}`);
  }
  const original = num(config.original_max_position_embeddings) ?? num(params.original_max_position_embeddings);
  const maxPos = num(config.max_position_embeddings);
  if (original === undefined || maxPos === undefined) {
    throw new FileError(file, 'longrope needs original_max_position_embeddings and max_position_embeddings');
  }
  const factor = maxPos / original;
  const scale = num(params.attention_factor) ?? (factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original)));
  const table = (factors: unknown[]) =>
    Float32Array.from({ length: dim / 2 }, (_, i) => f(1 / f(f(Number(factors[i])) * f(Math.pow(f(base), f((2 * i) / dim))))));
  const shortInv = table(short);
  const longInv = table(long);
  return {
    rotaryDim: dim,
    frequencies: (seqLen) => ({ invFreq: seqLen > original ? longInv : shortInv, scale: f(scale) }),
  };
}

/**
 * cos/sin tables [B, T, rotaryDim/2] for integer positions [B, T] (row-major). The graph applies
 * them to both halves of the rotary part (transformers' rotate_half layout).
 */
export function rotaryTables(rope: RopeSpec, positions: Int32Array, batch: number, seqLen: number): { cos: Float32Array; sin: Float32Array } {
  let maxPos = 0;
  for (const p of positions) maxPos = Math.max(maxPos, p);
  const { invFreq, scale } = rope.frequencies(maxPos + 1);
  const half = rope.rotaryDim / 2;
  const cos = new Float32Array(batch * seqLen * half);
  const sin = new Float32Array(batch * seqLen * half);
  for (let bt = 0; bt < batch * seqLen; bt++) {
    const pos = f(positions[bt]);
    for (let j = 0; j < half; j++) {
      const angle = f(invFreq[j] * pos);
      cos[bt * half + j] = f(f(Math.cos(angle)) * scale);
      sin[bt * half + j] = f(f(Math.sin(angle)) * scale);
    }
  }
  return { cos, sin };
}
