/**
 * Child-process entry: loads one model, answers WorkerRequests one at a time over IPC, exits when
 * the parent disconnects. Timings are taken here, so IPC latency never enters a figure.
 */
import { padBatch } from '../engine/batch.js';
import { CausalLM } from '../engine/causal-lm.js';
import { greedyDecode } from '../engine/decode.js';
import { UserError } from '../errors.js';
import { syntheticPrompt } from './prompt.js';
import type { WorkerReply, WorkerRequest, WorkerStart } from './protocol.js';

function send(reply: WorkerReply): void {
  process.send?.(reply);
}

function failure(error: unknown): WorkerReply {
  return { kind: 'error', message: error instanceof Error ? error.message.split('\n')[0] : String(error), user: error instanceof UserError };
}

async function answer(lm: CausalLM, request: WorkerRequest): Promise<WorkerReply> {
  const vocab = lm.spec.vocab;
  switch (request.kind) {
    case 'prefill': {
      const prompt = syntheticPrompt(request.tokens, vocab);
      const start = performance.now();
      await lm.run(padBatch([prompt]), { logits: true, cache: true });
      return { kind: 'result', value: (performance.now() - start) / 1000 };
    }
    case 'ttft': {
      const prompt = syntheticPrompt(request.tokens, vocab);
      const start = performance.now();
      await greedyDecode(lm, prompt, 1);
      return { kind: 'result', value: (performance.now() - start) / 1000 };
    }
    case 'decode': {
      // greedyDecode's first token comes from the prefill; the `steps` after it run on the cache
      const { stepSeconds } = await greedyDecode(lm, syntheticPrompt(request.promptTokens, vocab), request.steps + 1);
      return { kind: 'result', value: stepSeconds.reduce((a, b) => a + b, 0), steps: stepSeconds.length };
    }
    case 'peak-rss':
      // resourceUsage reports kilobytes
      return { kind: 'result', value: process.resourceUsage().maxRSS * 1024 };
  }
}

async function serve(): Promise<void> {
  // Ctrl-C reaches the whole process group: the parent decides, and disconnects to stop this one.
  process.on('SIGINT', () => undefined);
  const start = JSON.parse(process.argv[2] ?? '{}') as WorkerStart;
  let lm: CausalLM;
  try {
    lm = await CausalLM.load(start.checkpoint, start.session);
  } catch (error) {
    send(failure(error));
    process.disconnect?.();
    return;
  }
  // requests arrive one at a time (the parent awaits each reply), so no queue is needed
  process.on('message', (request: WorkerRequest) => {
    answer(lm, request).then(send, (error: unknown) => send(failure(error)));
  });
  process.on('disconnect', () => {
    void lm.close().finally(() => process.exit(0));
  });
  send({ kind: 'ready' });
}

await serve();
