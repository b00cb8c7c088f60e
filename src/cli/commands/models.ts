/** `amp-prune models`: the built-in models, what they are, where they come from, whether cached. */
import { findConvertedCheckpoint } from '../../convert/ensure-hf.js';
import { cachedGguf, cachedGgufPath, formatBytes } from '../../models/fetch.js';
import { BUILTIN_MODELS, DEFAULT_MODEL_NAME, sourceSummary } from '../../models/registry.js';

export async function modelsCommand(opts: { json?: boolean }): Promise<void> {
  const rows = [];
  for (const model of BUILTIN_MODELS) {
    const gguf = await cachedGguf(model);
    const converted = gguf ? await findConvertedCheckpoint(gguf) : undefined;
    rows.push({
      name: model.name,
      default: model.name === DEFAULT_MODEL_NAME,
      title: model.title,
      architecture: model.architecture,
      description: model.description,
      licence: model.licence,
      source: sourceSummary(model),
      packages: model.parts.map((p) => `${p.package}==${p.version}`),
      bytes: model.bytes,
      sha256: model.sha256,
      cached: gguf !== undefined,
      gguf: gguf ?? cachedGgufPath(model),
      converted: converted ?? null,
    });
  }
  if (opts.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  for (const row of rows) {
    console.log(`${row.name}${row.default ? ' (default)' : ''}: ${row.title}`);
    console.log(`  ${row.description}`);
    console.log(`  architecture  ${row.architecture}`);
    console.log(`  size          ${formatBytes(row.bytes)} (${row.bytes} bytes, sha256 ${row.sha256})`);
    console.log(`  licence       ${row.licence}`);
    console.log(`  source        ${row.source}`);
    console.log(`  cached        ${row.cached ? `yes, ${row.gguf}` : `no (fetched on first use into ${row.gguf})`}`);
    if (row.converted) console.log(`  converted     ${row.converted}`);
    console.log('');
  }
  console.log('Use a name wherever a model is taken: --model NAME (prune, eval, bench) or as the MODEL argument (inspect, logits, export).');
}
