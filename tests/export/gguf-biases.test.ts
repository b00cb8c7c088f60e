/**
 * GGUF export of LLaMA folders with projection biases, in stock llama.cpp (node-llama-cpp 3.21.1,
 * prebuilt CPU binaries) against our engine on the folder, and read back by gguf-py:
 *  - the tiny SmolLM-style fixture pruned by 30% with `--recover lsq` and with `--method flap`
 *    (FLAP's bias compensation): nonzero o_proj/down_proj biases, zero q/k/v and gate/up ones that
 *    the stock config flags force (attention_bias, mlp_bias);
 *  - the LLaMA-2 fixture with random biases on every projection and head size 24 ≠ 64 / 4 heads,
 *    so q/k biases must be interleaved like their rows.
 * llama.cpp's log-probabilities must match ours within the bounds of gguf-llama-cpp.test.ts
 * (1e-4 at F32, 0.02 at F16, 0.25 at Q8_0), with equal greedy tokens at F32; gguf-py must find
 * every nonzero bias under llama.cpp's name, as F32 whatever --dtype says, with its bytes equal to
 * the safetensors' (q/k permuted), and only all-zero biases left out.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { exportHfToGguf } from '../../src/export/gguf/hf-to-gguf.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { runCli } from '../helpers/cli.js';
import { fixtureDir, runPython } from '../helpers/python.js';
import { tempDir } from './helpers.js';
import { AGREEMENT, assertAgreement, type ComparedDtype, disposeLlama, runOurs, STEPS } from './llama-cpp.js';

const PROMPT = 'The quick brown fox jumps over the lazy dog. It was';
const CHECK = path.join(import.meta.dirname, '..', 'fixtures', 'check_gguf.py');

interface CheckResult {
  tensors: { name: string; hf_name: string; shape: number[]; type: string; bytes_equal: boolean }[];
  left_out: { hf_name: string; all_zero: boolean }[];
}

after(disposeLlama);
const dir = await tempDir();
const smollm = await fixtureDir('smollm');

async function pruned(name: string, args: string[]): Promise<string> {
  const out = path.join(dir, name);
  const run = await runCli(['--threads', '2', 'prune', '--model', smollm, '--out', out, '--ratio', '0.3', ...args]);
  assert.equal(run.code, 0, run.stderr);
  return out;
}

const models: { name: string; dir: string; dtypes: ComparedDtype[] }[] = [
  { name: 'lsq', dir: await pruned('lsq', ['--recover', 'lsq']), dtypes: ['f32', 'f16', 'q8_0'] },
  { name: 'flap', dir: await pruned('flap', ['--method', 'flap']), dtypes: ['f32'] },
  { name: 'llama-bias-headdim', dir: await fixtureDir('llama-bias-headdim'), dtypes: ['f32', 'f16'] },
];

for (const model of models) {
  const prompt = (await loadTokenizer(model.dir)).encode(PROMPT);
  for (const dtype of model.dtypes) {
    test(`${model.name} at ${dtype}: llama.cpp applies the biases as our engine does; gguf-py finds them`, async (t) => {
      const file = path.join(dir, `${model.name}-${dtype}.gguf`);
      await exportHfToGguf(model.dir, file, { dtype });

      const check = JSON.parse(await runPython([CHECK, file, model.dir])) as CheckResult;
      const biases = check.tensors.filter((x) => x.name.endsWith('.bias'));
      assert.ok(biases.some((b) => /attn_output\.bias$/.test(b.name)) && biases.some((b) => /ffn_down\.bias$/.test(b.name)), `o and down biases written: ${biases.map((b) => b.name).join(', ')}`);
      for (const bias of biases) {
        assert.equal(bias.type, 'F32', bias.name);
        assert.equal(bias.shape.length, 1, bias.name);
        assert.ok(bias.bytes_equal, `${bias.name} holds ${bias.hf_name}'s values (q/k interleaved)`);
      }
      for (const x of check.tensors) assert.ok(x.bytes_equal, `${x.name} equals gguf-py's encoding`);
      const leftOut = check.left_out.filter((x) => x.hf_name !== 'lm_head.weight');
      for (const x of leftOut) assert.ok(x.hf_name.endsWith('.bias') && x.all_zero, `left out ${x.hf_name}: only all-zero biases may be`);
      t.diagnostic(`${biases.length} biases written, ${leftOut.length} all-zero ones left out`);

      const ours = await runOurs(model.dir, prompt, STEPS);
      t.diagnostic(await assertAgreement(file, prompt, ours, AGREEMENT[dtype]));
    });
  }
}
