/**
 * `prune --finetune DATA`: prune into a temporary folder next to --out, fine-tune that with the
 * --finetune-* options, write only the fine-tuned model to --out. The temporary folder is deleted
 * at the end, on failure and on interruption; the result is what `prune` then `finetune` with the
 * same flags and seed give.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { specFromConfig } from '../../arch/registry.js';
import { UsageError } from '../../errors.js';
import { StagedFolder } from '../../export/staged-folder.js';
import { checkTargets } from '../../finetune/lora.js';
import { readModelConfig } from '../../io/checkpoint.js';
import { removeOnInterrupt } from '../../interrupt.js';
import { trainingFlags } from '../finetune-options.js';
import { prepareModel } from '../model-arg.js';
import type { GlobalOptions } from '../program.js';
import { finetuneJson, finetuneLine, finetuneRequest, runFinetune } from './finetune.js';
import { jsonSummary, printSummary, runPrune } from './prune.js';
import type { PruneFlags } from './prune.js';

const PREFIX = 'finetune-';

export async function pruneThenFinetune(flags: PruneFlags, global: GlobalOptions): Promise<void> {
  if (flags.dryRun) throw new UsageError('--finetune fine-tunes the pruned model: it cannot run with --dry-run');
  if (!flags.out) throw new UsageError('--finetune writes the fine-tuned model to --out: give --out');
  const out = flags.out;
  // every training flag checked before minutes of pruning
  const request = finetuneRequest({ ...trainingFlags(flags as unknown as Record<string, unknown>, PREFIX), model: '', out, data: flags.finetune!, seed: flags.seed, force: flags.force }, global, PREFIX);
  const input = await prepareModel(flags.model);
  // pruning keeps the family's fused tensors, so targets that would split one are refused now
  checkTargets(specFromConfig(await readModelConfig(input), path.join(input, 'config.json')), request.lora.targets);
  await (await StagedFolder.create(out, { force: flags.force, inputDir: input })).discard(); // an occupied --out is refused now, not after pruning
  const teacher = request.teacher ? await prepareModel(request.teacher) : undefined;

  const target = path.resolve(out);
  const pruned = await mkdtemp(path.join(path.dirname(target), `.${path.basename(target)}.pruned-`));
  const forget = removeOnInterrupt(pruned);
  try {
    const outcome = await runPrune({ ...flags, out: pruned, force: false }, global);
    for (const w of outcome.warnings) console.error(`amp-prune: warning: ${w}`);
    const summary = await runFinetune(
      { ...request, model: pruned, teacher, baseName: `${flags.model}, pruned by the same command (see the prune record)`, checkpointDir: path.join(pruned, '.train-state') },
      { resumable: false },
    );
    if (flags.json) {
      console.log(JSON.stringify({ ...jsonSummary(flags, outcome), finetune: finetuneJson(request, summary) }, null, 2));
    } else {
      printSummary(flags, outcome, `Pruned, then fine-tuned into ${out}`);
      console.log(`\n  ${finetuneLine(request, summary)}`);
    }
  } finally {
    await rm(pruned, { recursive: true, force: true });
    forget();
  }
}
