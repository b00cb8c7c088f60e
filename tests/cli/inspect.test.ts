/** `amp-prune inspect --json` agrees with transformers' own parameter count for every fixture. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, fixtureVariants, referenceParams } from '../helpers/python.js';

for (const variant of await fixtureVariants()) {
  test(`inspect counts parameters like transformers: ${variant.name}`, async () => {
    const dir = await fixtureDir(variant.name);
    const r = await runCli(['inspect', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    const ref = await referenceParams(dir);
    assert.equal(info.parameters.total, ref.total);
    const p = info.parameters;
    assert.equal(p.embeddings + p.attention + p.mlp + p.norms + p.lmHead, p.total);
    assert.equal(info.architecture, variant.model_class);
  });
}
