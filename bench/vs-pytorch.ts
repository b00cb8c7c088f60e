/**
 * bench/vs-pytorch: `amp-prune prune` against the same AMP scoring written plainly in PyTorch
 * (bench/python/amp_pytorch.py: forward hooks, one prompt per forward), on the same model and
 * the same first 50 Alpaca prompts at 30% with uniform allocation and GQA group mode.
 * Checks that both keep the same heads and neurons, and times both end to end.
 *
 *   node --import tsx bench/vs-pytorch.ts [--quick] [--threads N] [--repeats R] [--samples 50] [--model DIR]
 *
 * Ours: the CLI process from spawn to exit (node start, load, calibrate, score, plan, write the
 * pruned checkpoint). PyTorch: the Python process from spawn to exit (interpreter, imports, load,
 * tokenize, score, plan; nothing written). Both processes run with the same thread count.
 */
import { rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ALPACA, FIXTURES, fixed, isMain, machine, printTable, runCli, runPythonJson, summarize, writeResult } from './common.js';
import { AMP_PRUNE_FILE, isPruneRecord, readAmpPruneRecord } from '../src/export/amp-prune-record.js';
import type { LayerRecord } from '../src/export/amp-prune-record.js';
import type { ChildRun } from './common.js';
import { realModel, REPO_ROOT } from './real-model.js';

interface KeptLayer {
  heads: number[];
  kv_heads: number[];
  neurons: number[];
  head_scores: number[];
  neuron_scores: number[];
}

interface PyAmp {
  versions: Record<string, string>;
  attn_implementation: string;
  tokens: number;
  seconds: { import: number; load: number; score: number; plan: number };
  layers: KeptLayer[];
}


interface LayerAgreement {
  layer: number;
  heads_identical: boolean;
  kv_heads_identical: boolean;
  /** Neurons kept by one side only (each side's count; the two are equal). */
  neurons_differing: number;
  /**
   * For the differing neurons: |s − s_boundary| / s_boundary in PyTorch's scores, s_boundary the
   * mean of the last neuron pruned and the first kept. Small = a near-tie that float32 summation
   * order may flip.
   */
  max_relative_gap_to_boundary: number;
}

const setEq = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Largest |a − b| / max(|b|, tiny) over two score lists. */
function maxRelDiff(a: readonly number[], b: readonly number[]): number {
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]) / Math.max(Math.abs(b[i]), 1e-30)), 0);
}

function compareLayer(layer: number, ours: LayerRecord, py: KeptLayer): LayerAgreement {
  const oursSet = new Set(ours.neurons.kept);
  const pySet = new Set(py.neurons);
  const differing = [...oursSet].filter((n) => !pySet.has(n)).concat(py.neurons.filter((n) => !oursSet.has(n)));
  const sorted = [...py.neuron_scores].sort((a, b) => a - b);
  const pruned = py.neuron_scores.length - py.neurons.length;
  const boundary = pruned === 0 ? sorted[0] : (sorted[pruned - 1] + sorted[pruned]) / 2;
  const gap = differing.reduce((m, n) => Math.max(m, Math.abs(py.neuron_scores[n] - boundary) / Math.abs(boundary)), 0);
  return {
    layer,
    heads_identical: setEq(ours.heads.kept, py.heads),
    kv_heads_identical: setEq(ours.kv_heads.kept, py.kv_heads),
    neurons_differing: differing.length / 2,
    max_relative_gap_to_boundary: gap,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      threads: { type: 'string' },
      repeats: { type: 'string' },
      samples: { type: 'string' },
      model: { type: 'string' },
    },
  });
  const quick = values.quick;
  const threads = Number(values.threads ?? os.availableParallelism());
  const host = await machine(threads);
  const repeats = Number(values.repeats ?? (quick ? 1 : 3));
  const samples = Number(values.samples ?? (quick ? 8 : 50));
  const model = values.model ?? (quick ? join(FIXTURES, 'smollm') : await realModel());
  const out = join(REPO_ROOT, 'scratch', 'bench', 'vs-pytorch-out');
  const ratio = '0.3';

  const oursRun = () =>
    runCli(['prune', '--model', model, '--out', out, '--ratio', ratio, '--method', 'amp', '--allocation', 'uniform', '--gqa', 'group', '--calib', ALPACA, '--calib-samples', String(samples), '--calib-mode', 'prompts', '--force', '--json'], threads);
  const pyRun = () => runPythonJson<PyAmp>('amp_pytorch.py', ['--model', model, '--calib', ALPACA, '--samples', String(samples), '--ratio', ratio], threads);

  // One untimed run each first: page cache, tsx's compile cache and Python's bytecode are warm for both.
  await oursRun();
  await pyRun();
  const oursRuns: ChildRun[] = [];
  const pyRuns: { result: PyAmp; run: ChildRun }[] = [];
  for (let i = 0; i < repeats; i++) {
    oursRuns.push(await oursRun());
    pyRuns.push(await pyRun());
  }
  const record = await readAmpPruneRecord(join(out, AMP_PRUNE_FILE));
  if (!isPruneRecord(record) || !record.calibration) throw new Error(`${out}: prune wrote no pruning record with its calibration`);
  await rm(out, { recursive: true, force: true });
  const py = pyRuns[0].result;

  const agreement = record.layers.map((l, i) => compareLayer(i, l, py.layers[i]));
  const scoreDiff = {
    heads: Math.max(...record.layers.map((l, i) => maxRelDiff(l.heads.scores, py.layers[i].head_scores))),
    neurons: Math.max(...record.layers.map((l, i) => maxRelDiff(l.neurons.scores, py.layers[i].neuron_scores))),
  };
  const ours = summarize(oursRuns.map((r) => r.seconds));
  const theirs = summarize(pyRuns.map((r) => r.run.seconds));
  const loadScore = summarize(pyRuns.map((r) => r.result.seconds.load + r.result.seconds.score));
  const pyScoreOnly = summarize(pyRuns.map((r) => r.result.seconds.score));

  const identical = agreement.filter((a) => a.heads_identical && a.kv_heads_identical && a.neurons_differing === 0).length;
  const differing = agreement.reduce((s, a) => s + a.neurons_differing, 0);
  const headMismatch = agreement.filter((a) => !a.heads_identical || !a.kv_heads_identical).map((a) => a.layer);
  console.log(`tokens: ours ${record.calibration.totalTokens}, PyTorch ${py.tokens}`);
  console.log(`agreement: ${identical}/${agreement.length} layers identical; heads differ in layers [${headMismatch.join(', ')}]; ${differing} neurons differ in all (largest gap to the boundary ${fixed(100 * Math.max(0, ...agreement.map((a) => a.max_relative_gap_to_boundary)), 4)}%)`);
  console.log(`scores: largest relative difference heads ${scoreDiff.heads.toExponential(2)}, neurons ${scoreDiff.neurons.toExponential(2)}`);
  printTable([
    ['wall seconds (median of ' + repeats + ')', 'ours', 'PyTorch', 'ours/PyTorch (goal ≤ 0.5)'],
    ['process, spawn to exit', fixed(ours.median), fixed(theirs.median), fixed(ours.median / theirs.median)],
    ['ours process vs PyTorch load+score', fixed(ours.median), fixed(loadScore.median), fixed(ours.median / loadScore.median)],
  ]);
  console.log(`PyTorch breakdown (median): import ${fixed(median(pyRuns, 'import'))} s, load ${fixed(median(pyRuns, 'load'))} s, score ${fixed(pyScoreOnly.median)} s; attention ${py.attn_implementation}`);
  if (quick) return;
  const file = await writeResult('vs-pytorch', {
    bench: 'vs-pytorch',
    machine: host,
    pytorch_versions: py.versions,
    model,
    settings: { ratio: Number(ratio), allocation: 'uniform', gqa: 'group', calibration: `first ${samples} Alpaca prompts (${ALPACA})`, repeats, warmup: 1, pytorch_attention: py.attn_implementation },
    includes: {
      ours: 'CLI process spawn to exit: node + tsx start, load, tokenize, score, plan, write the pruned checkpoint and amp_prune.json',
      pytorch_process: 'Python process spawn to exit: interpreter, imports, load model + tokenizer, tokenize, score, plan (nothing written)',
      pytorch_load_score: "inside the Python process: from_pretrained + tokenizer load + tokenize + forwards with hooks (no imports, no plan)",
    },
    tokens: { ours: record.calibration.totalTokens, pytorch: py.tokens },
    agreement: { layers_identical: identical, layers: agreement.length, neurons_differing: differing, head_mismatch_layers: headMismatch, per_layer: agreement },
    score_max_relative_difference: scoreDiff,
    seconds: { ours_process: ours, pytorch_process: theirs, pytorch_load_score: loadScore, pytorch_score: pyScoreOnly, pytorch_breakdown_first_run: pyRuns[0].result.seconds },
    ratios: { process: ours.median / theirs.median, ours_process_over_pytorch_load_score: ours.median / loadScore.median },
    goal: 'ours/PyTorch ≤ 0.5',
  });
  console.log(`written ${file}`);
}

function median(runs: { result: PyAmp }[], key: keyof PyAmp['seconds']): number {
  return summarize(runs.map((r) => r.result.seconds[key])).median;
}

if (isMain(import.meta.url)) await main();
