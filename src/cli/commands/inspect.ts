/** `amp-prune inspect`: what a checkpoint is, from its config and tensor headers only. */
import { isUniform } from '../../arch/common.js';
import { countParams } from '../../arch/params.js';
import { openCheckpoint } from '../../engine/checkpoint.js';
import { prepareModel } from '../model-arg.js';

export async function inspectCommand(model: string, opts: { json?: boolean }): Promise<void> {
  const ckpt = await openCheckpoint(await prepareModel(model));
  const { spec, store } = ckpt;
  const params = countParams(spec);
  const dtypes = store.dtypes();
  const first = spec.layers[0];
  const uniform = isUniform(spec.layers);
  const info = {
    model,
    architecture: spec.architecture,
    family: spec.family,
    modelType: spec.modelType,
    dtype: Object.entries(dtypes).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))[0]?.[0],
    dtypes,
    layers: spec.numLayers,
    hidden: spec.hidden,
    heads: first.heads,
    kvHeads: first.kvHeads,
    headDim: spec.headDim,
    intermediate: first.intermediate,
    uniform,
    vocab: spec.vocab,
    tiedEmbeddings: spec.tiedEmbeddings,
    rotaryDim: spec.rope.rotaryDim,
    parameters: params,
  };
  await ckpt.store.close();
  if (opts.json) {
    console.log(JSON.stringify(info, null, 2));
    return;
  }
  const fmt = (n: number) => n.toLocaleString('en-US');
  const pct = (n: number) => `${((100 * n) / params.total).toFixed(1)}%`;
  const rows: [string, string][] = [
    ['architecture', `${info.architecture} (${info.modelType})`],
    ['dtype', Object.entries(dtypes).map(([d, n]) => `${d} x${n}`).join(', ')],
    ['layers', String(info.layers)],
    ['hidden size', String(info.hidden)],
    ['attention', `${info.heads} heads, ${info.kvHeads} KV heads, head_dim ${info.headDim}, rotary ${info.rotaryDim}`],
    ['MLP intermediate', `${info.intermediate}${uniform ? '' : ' (layer 0; widths differ per layer)'}`],
    ['vocabulary', `${info.vocab}${info.tiedEmbeddings ? ' (tied embeddings)' : ''}`],
    ['parameters', fmt(params.total)],
    ['  embeddings', `${fmt(params.embeddings)} (${pct(params.embeddings)})`],
    ['  attention', `${fmt(params.attention)} (${pct(params.attention)})`],
    ['  MLP', `${fmt(params.mlp)} (${pct(params.mlp)})`],
    ['  norms', `${fmt(params.norms)} (${pct(params.norms)})`],
    ['  lm_head', `${fmt(params.lmHead)} (${pct(params.lmHead)})`],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
}
