/**
 * `amp-prune inspect --json` agrees with transformers for every fixture: the total and each
 * component, the components summed from transformers' own named parameters.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, fixtureVariants, referenceParams } from '../helpers/python.js';

type Component = 'embeddings' | 'attention' | 'mlp' | 'norms' | 'lmHead';

/**
 * The component a transformers parameter belongs to, by its name. Norms are tested first, so that
 * q_norm/k_norm inside self_attn (Qwen3) count as norms, as inspect reports them.
 */
function componentOf(name: string): Component {
  if (/norm/.test(name)) return 'norms';
  if (name.startsWith('model.embed_tokens.')) return 'embeddings';
  if (name.startsWith('lm_head.')) return 'lmHead';
  if (/^model\.layers\.\d+\.self_attn\./.test(name)) return 'attention';
  if (/^model\.layers\.\d+\.mlp\./.test(name)) return 'mlp';
  throw new Error(`no component for transformers parameter ${name}`);
}

for (const variant of await fixtureVariants()) {
  test(`inspect counts parameters like transformers: ${variant.name}`, async () => {
    const dir = await fixtureDir(variant.name);
    const r = await runCli(['inspect', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    const ref = await referenceParams(dir);
    const expected: Record<Component | 'total', number> = { embeddings: 0, attention: 0, mlp: 0, norms: 0, lmHead: 0, total: ref.total };
    for (const [name, n] of Object.entries(ref.byName)) expected[componentOf(name)] += n;
    // A tied lm_head is the embedding matrix: transformers lists it once, inspect counts it 0.
    assert.deepEqual(info.parameters, expected);
    for (const c of ['embeddings', 'attention', 'mlp', 'norms'] as const) assert.ok(expected[c] > 0, `${c} found in transformers' names`);
    assert.equal(info.architecture, variant.model_class);
  });
}
