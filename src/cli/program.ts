/** Command definitions. Each command's implementation is loaded only when it runs. */
import { Command, Option } from 'commander';
import { DEVICES } from '../engine/session.js';
import { VERSION } from '../engine/model.js';

export interface GlobalOptions {
  device: string;
  threads?: number;
  debug?: boolean;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`expected a positive integer, got '${value}'`);
  return n;
}

export function buildProgram(): Command {
  const program = new Command('amp-prune')
    .description('Structured pruning of LLaMA- and Phi-family language models (AMP: attention heads and MLP neurons).')
    .version(VERSION)
    .addOption(new Option('--device <name>', 'onnxruntime execution provider').choices([...DEVICES]).default('cpu'))
    .addOption(new Option('--threads <n>', 'compute threads (default: all cores)').argParser(positiveInt))
    .option('--debug', 'print stack traces on errors')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();

  program
    .command('inspect')
    .description('Show a checkpoint\'s architecture, widths and parameter counts per component.')
    .argument('<model>', 'Hugging Face model folder (config.json + safetensors)')
    .option('--json', 'print JSON for scripts')
    .action(async (model: string, opts: { json?: boolean }) => {
      const { inspectCommand } = await import('./commands/inspect.js');
      await inspectCommand(model, opts);
    });

  program
    .command('logits')
    .description('Run the model on a text and print the next-token predictions (or write all logits).')
    .argument('<model>', 'Hugging Face model folder')
    .requiredOption('--text <text>', 'input text (tokenized with the model\'s tokenizer, special tokens as transformers adds them)')
    .option('--top <k>', 'how many next-token candidates to show', positiveInt, 5)
    .option('--out <file>', 'write all logits as raw little-endian float32 [T, vocab]')
    .option('--json', 'print JSON for scripts')
    .action(async (model: string, opts: { text: string; top: number; out?: string; json?: boolean }) => {
      const { logitsCommand } = await import('./commands/logits.js');
      await logitsCommand(model, opts, program.opts<GlobalOptions>());
    });

  return program;
}
