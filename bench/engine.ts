/**
 * bench/engine: forward-pass throughput of our engine against PyTorch transformers on the same
 * checkpoint (prompt lengths 128/512/2048, batch 1, full logits), and the engine's achieved
 * GFLOP/s against onnxruntime's own plain MatMul on this machine.
 *
 *   node --import tsx bench/engine.ts [--quick] [--threads N] [--repeats R] [--lengths 128,512,2048,4096] [--model DIR] [--unfused]
 *
 * Decode row: tokens/s of greedy steps on the KV cache after a 128-token prompt (32 steps per run;
 * ours: engine/decode.ts's per-step timing; PyTorch: one-token forwards on its DynamicCache).
 *
 * --unfused also times the unfused attention path (AMP_PRUNE_ATTENTION=unfused) in the same run,
 * so the fused kernel's gain is a same-run ratio too.
 *
 * The other benches import the measuring tools exported here (timing summary, machine record,
 * MatMul peak, FLOP formula), so there is one definition of each.
 */
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { padBatch } from '../src/engine/batch.js';
import type { ArchSpec } from '../src/arch/spec.js';
import type { AttentionPreference } from '../src/engine/attention.js';
import { CausalLM } from '../src/engine/causal-lm.js';
import { greedyDecode } from '../src/engine/decode.js';
import { realModel } from './real-model.js';

import { FIXTURES, isMain, summarize, timeRepeats, machine, writeResult, runPythonJson, printTable, fixed, forwardFlops, PEAK_SHAPES, matmulPeak } from './common.js';
import type { Summary } from './common.js';

/** Token ids both sides compute the same way: any ids do for speed, they need only be valid. */
function promptIds(T: number, vocab: number): number[] {
  return Array.from({ length: T }, (_, t) => (t * 7919 + 13) % vocab);
}

interface PyEngine {
  versions: Record<string, string>;
  attn_implementation: string;
  load_seconds: number;
  lengths: Record<string, number[]>;
  decode: number[][];
}

const DECODE_PROMPT = 128;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      threads: { type: 'string' },
      repeats: { type: 'string' },
      lengths: { type: 'string' },
      model: { type: 'string' },
      unfused: { type: 'boolean', default: false },
    },
  });
  const quick = values.quick;
  const threads = Number(values.threads ?? os.availableParallelism());
  const host = await machine(threads);
  const repeats = Number(values.repeats ?? (quick ? 2 : 5));
  const lengths = (values.lengths ?? (quick ? '16,64' : '128,512,2048,4096')).split(',').map(Number);
  const model = values.model ?? (quick ? join(FIXTURES, 'smollm') : await realModel());

  const decodeSteps = quick ? 4 : 32;
  /** Decode tokens/s of each run: steps / the steps' summed seconds (the prefill left out). */
  const decodeRate = (runs: readonly (readonly number[])[]) => summarize(runs.map((steps) => steps.length / steps.reduce((a, b) => a + b, 0)));
  const timeOurs = async (attention: AttentionPreference): Promise<{ spec: ArchSpec; byLength: Record<number, Summary>; decode: Summary }> => {
    const lm = await CausalLM.load(model, { threads, attention });
    const byLength: Record<number, Summary> = {};
    try {
      for (const T of lengths) {
        const batch = padBatch([promptIds(T, lm.spec.vocab)]);
        byLength[T] = summarize(await timeRepeats(() => lm.logits(batch), 1, repeats));
        console.error(`ours (${attention} attention) T=${T}: ${fixed(byLength[T].median, 3)} s`);
      }
      const prompt = promptIds(DECODE_PROMPT, lm.spec.vocab);
      await greedyDecode(lm, prompt, decodeSteps + 1);
      const runs: number[][] = [];
      for (let r = 0; r < repeats; r++) runs.push((await greedyDecode(lm, prompt, decodeSteps + 1)).stepSeconds);
      return { spec: lm.spec, byLength, decode: decodeRate(runs) };
    } finally {
      await lm.close();
    }
  };
  const { spec, byLength: ours, decode: oursDecode } = await timeOurs('auto');
  const unfused = values.unfused ? (await timeOurs('unfused')).byLength : undefined;
  const { result: py } = await runPythonJson<PyEngine>('engine_forward.py', ['--model', model, '--lengths', lengths.join(','), '--repeats', String(repeats), '--decode-prompt', String(DECODE_PROMPT), '--decode-steps', String(decodeSteps)], threads);
  const pyDecode = decodeRate(py.decode);
  const peak = await matmulPeak(threads, quick ? 3 : 10, quick ? [[256, 576, 1536]] : PEAK_SHAPES);

  const rows = lengths.map((T) => {
    const theirs = summarize(py.lengths[String(T)]);
    const gflops = forwardFlops(spec, T) / ours[T].median / 1e9;
    return {
      tokens: T,
      ours_seconds: ours[T],
      pytorch_seconds: theirs,
      ours_tokens_per_s: T / ours[T].median,
      pytorch_tokens_per_s: T / theirs.median,
      ratio_ours_over_pytorch: theirs.median / ours[T].median,
      forward_gflop: forwardFlops(spec, T) / 1e9,
      ours_gflops: gflops,
      pytorch_gflops: forwardFlops(spec, T) / theirs.median / 1e9,
      fraction_of_matmul_peak: gflops / peak.peak,
      ...(unfused ? { unfused_seconds: unfused[T], ratio_fused_over_unfused: unfused[T].median / ours[T].median } : {}),
    };
  });
  const table: string[][] = [['T', 'ours tok/s', 'PyTorch tok/s', 'ours/PyTorch (goal ≥ 1.5)', 'ours GFLOP/s', '% of MatMul peak (goal ≥ 60)', 'spread ours/PT', ...(unfused ? ['fused/unfused'] : [])]];
  for (const r of rows) {
    const extra = r.ratio_fused_over_unfused === undefined ? [] : [`${fixed(r.ratio_fused_over_unfused)}x`];
    table.push([String(r.tokens), fixed(r.ours_tokens_per_s, 0), fixed(r.pytorch_tokens_per_s, 0), `${fixed(r.ratio_ours_over_pytorch)}x`, fixed(r.ours_gflops, 1), fixed(100 * r.fraction_of_matmul_peak, 0), `${fixed(100 * r.ours_seconds.spread, 0)}%/${fixed(100 * r.pytorch_seconds.spread, 0)}%`, ...extra]);
  }
  table.push([`decode after ${DECODE_PROMPT}`, fixed(oursDecode.median, 1), fixed(pyDecode.median, 1), `${fixed(oursDecode.median / pyDecode.median)}x (goal ≥ 1)`, '', '', `${fixed(100 * oursDecode.spread, 0)}%/${fixed(100 * pyDecode.spread, 0)}%`, ...(unfused ? [''] : [])]);
  printTable(table);
  console.log(`MatMul peak ${fixed(peak.peak, 1)} GFLOP/s (${Object.entries(peak.shapes).map(([s, v]) => `${s}: ${fixed(v.median, 1)}`).join(', ')}); PyTorch attention: ${py.attn_implementation}`);
  if (quick) return;
  const file = await writeResult('engine', {
    bench: 'engine',
    machine: host,
    pytorch_versions: py.versions,
    model: { path: model, architecture: spec.architecture, layers: spec.numLayers, hidden: spec.hidden, vocab: spec.vocab },
    settings: { batch: 1, repeats, warmup: 1, output: 'full logits [1, T, V]', pytorch_attention: py.attn_implementation, our_attention: 'auto (fused GroupQueryAttention where the layer allows it)' },
    flop_formula: 'Σ_layers (2·P_matmul·T + 4·T²·H·d_h) + 2·V·d·T; P_matmul = q,k,v,o,gate,up,down weight elements',
    matmul_peak_gflops: peak,
    rows,
    decode: { prompt_tokens: DECODE_PROMPT, steps: decodeSteps, ours_tokens_per_s: oursDecode, pytorch_tokens_per_s: pyDecode, ratio_ours_over_pytorch: oursDecode.median / pyDecode.median },
  });
  console.log(`written ${file}`);
}

if (isMain(import.meta.url)) await main();
