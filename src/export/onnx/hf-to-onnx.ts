/**
 * Hugging Face model folder (dense or pruned, any family the engine runs) -> a folder that
 * transformers.js loads from local files (optimum's layout):
 *
 *   OUT/config.json              the input's, plus transformers.js_config (dtype, external data)
 *   OUT/generation_config.json   copied (or derived from config.json's special-token ids)
 *   OUT/tokenizer*.json, ...     copied
 *   OUT/onnx/model{,_fp16,_quantized}.onnx  + .onnx_data (weights as external data)
 *
 * The graph is the engine's own model definition (engine/model.ts emitCausalLm) fed with
 * transformers.js's inputs (input_ids, attention_mask, position_ids, past_key_values.N.key/value)
 * and returning logits and present.N.key/value. Each layer's cache input states its own KV-head
 * count, and transformers.js sizes its empty cache from those input shapes, so per-layer widths
 * (non-uniform pruning) run too. Written into a staging folder and renamed at the end.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ArchSpec, GlobalWeightName, LayerWeightName } from '../../arch/spec.js';
import { WeightReader, openCheckpoint } from '../../engine/checkpoint.js';
import { ElemType, GraphBuilder } from '../../engine/graph.js';
import { VERSION, emitCausalLm } from '../../engine/model.js';
import { FileError, UsageError } from '../../errors.js';
import { StagedFolder } from '../staged-folder.js';
import { TOKENIZER_FILE_NAMES } from '../tokenizer-files.js';
import { DIM, emitExportInputs, fixedFrequencies, presentName } from './inputs.js';
import { ExternalWeights, ONNX_DTYPES, type OnnxDtype } from './weights.js';

/** transformers.js's file-name suffix per dtype (utils/dtypes.js DEFAULT_DTYPE_SUFFIX_MAPPING). */
const SUFFIX: Record<OnnxDtype, string> = { fp32: '', fp16: '_fp16', q8: '_quantized', q4: '_q4' };

export interface OnnxExportOptions {
  dtype?: OnnxDtype;
  force?: boolean;
  progress?: { start?(total: number): void; tensorDone?(name: string): void };
}

export interface OnnxExportSummary {
  out: string;
  model: string;
  dtype: OnnxDtype;
  architecture: string;
  layers: number;
  /** Per layer: query heads, KV heads, MLP width. */
  widths: { heads: number; kvHeads: number; intermediate: number }[];
  uniform: boolean;
  /** Initializer element type -> how many. */
  tensorTypes: Record<string, number>;
  files: string[];
  bytes: number;
}

type Json = Record<string, unknown>;

/**
 * What the exported graph cannot express is refused here, before anything is written (and by
 * `prune --export onnx` before pruning starts, on the config it plans to write).
 */
export function checkOnnxExportable(spec: ArchSpec, configPath: string): void {
  if (!fixedFrequencies(spec)) {
    throw new FileError(configPath, 'its rotary embedding switches frequencies with the sequence length (longrope with different short/long factors), which ONNX export does not build');
  }
}

export function onnxFileName(dtype: OnnxDtype): string {
  return `model${SUFFIX[dtype]}.onnx`;
}

async function generationConfig(modelDir: string, config: Json): Promise<string> {
  const source = path.join(modelDir, 'generation_config.json');
  const existing = await fs.readFile(source, 'utf8').catch(() => undefined);
  if (existing !== undefined) return existing;
  const derived: Json = {};
  for (const key of ['bos_token_id', 'eos_token_id', 'pad_token_id']) if (config[key] !== undefined && config[key] !== null) derived[key] = config[key];
  return `${JSON.stringify(derived, null, 2)}\n`;
}

export async function exportHfToOnnx(modelDir: string, out: string, options: OnnxExportOptions = {}): Promise<OnnxExportSummary> {
  const dtype = options.dtype ?? 'fp32';
  if (!ONNX_DTYPES.includes(dtype)) throw new UsageError(`--dtype ${String(dtype)} is not supported for onnx (choose ${ONNX_DTYPES.join(', ')})`);
  const checkpoint = await openCheckpoint(modelDir);
  const { spec, store, config } = checkpoint;
  try {
    checkOnnxExportable(spec, path.join(modelDir, 'config.json'));
    const folder = await StagedFolder.create(out, { force: options.force, inputDir: modelDir });
    try {
      const modelFile = onnxFileName(dtype);
      const dataFile = `${modelFile}_data`;
      await fs.mkdir(path.join(folder.stagingDir, 'onnx'));
      const g = new GraphBuilder('amp-prune-causal-lm');
      const inputs = emitExportInputs(g, spec);

      const handle = await fs.open(path.join(folder.stagingDir, 'onnx', dataFile), 'w');
      const weights = new ExternalWeights(g, handle, dataFile, dtype);
      const globals = new Map<GlobalWeightName, string>();
      const layers: Map<LayerWeightName, string>[] = [];
      try {
        const reader = new WeightReader(store);
        const globalList = spec.globalWeights();
        options.progress?.start?.(globalList.length + spec.numLayers);
        for (const w of globalList) {
          globals.set(w.name, await weights.add(`model.${w.name}`, await reader.read(w), w.shape));
          options.progress?.tensorDone?.(w.name);
        }
        for (let i = 0; i < spec.numLayers; i++) {
          const names = new Map<LayerWeightName, string>();
          for (const w of spec.layerWeights(i)) names.set(w.name, await weights.add(`model.layers.${i}.${w.name}`, await reader.read(w), w.shape));
          layers.push(names);
          options.progress?.tensorDone?.(`layer ${i}`);
        }
        await handle.sync();
      } finally {
        await handle.close();
      }

      // standard ONNX ops only: com.microsoft GroupQueryAttention ties the file to onnxruntime and
      // refuses batched prefill on a cache, which transformers.js's generate does
      const body = emitCausalLm(g, spec, { global: (n) => globals.get(n), layer: (i, n) => layers[i].get(n) }, inputs, 'unfused');
      g.output(body.logits, 'logits', ElemType.FLOAT, [DIM.batch, DIM.seq, spec.vocab]);
      body.presents.forEach((present, i) => {
        const dims = [DIM.batch, spec.layers[i].kvHeads, DIM.total, spec.headDim];
        g.output(present.key, presentName(i, 'key'), ElemType.FLOAT, dims);
        g.output(present.value, presentName(i, 'value'), ElemType.FLOAT, dims);
      });
      await fs.writeFile(path.join(folder.stagingDir, 'onnx', modelFile), g.toBytes(VERSION));

      const exportedConfig: Json = {
        ...config,
        'transformers.js_config': { dtype, use_external_data_format: { [modelFile]: 1 } },
      };
      await fs.writeFile(path.join(folder.stagingDir, 'config.json'), `${JSON.stringify(exportedConfig, null, 2)}\n`);
      await fs.writeFile(path.join(folder.stagingDir, 'generation_config.json'), await generationConfig(modelDir, config));
      for (const name of TOKENIZER_FILE_NAMES) {
        if (name === 'generation_config.json') continue;
        const source = path.join(modelDir, name);
        if ((await fs.stat(source).catch(() => undefined))?.isFile()) await fs.copyFile(source, path.join(folder.stagingDir, name));
      }
      const files = (await fs.readdir(folder.stagingDir, { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => path.relative(folder.stagingDir, path.join(e.parentPath, e.name)))
        .sort();
      let bytes = 0;
      for (const f of files) bytes += (await fs.stat(path.join(folder.stagingDir, f))).size;
      await folder.commit();
      const widths = spec.layers.map(({ heads, kvHeads, intermediate }) => ({ heads, kvHeads, intermediate }));
      const first = JSON.stringify(widths[0]);
      return {
        out,
        model: `onnx/${modelFile}`,
        dtype,
        architecture: spec.architecture,
        layers: spec.numLayers,
        widths,
        uniform: widths.every((w) => JSON.stringify(w) === first),
        tensorTypes: weights.counts,
        files,
        bytes,
      };
    } finally {
      await folder.discard();
    }
  } finally {
    await store.close();
  }
}
