/** `amp-prune run ... --json` as the run tests call it: two threads, exit 0, the parsed summary. */
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';

export interface RunJson {
  promptIds: number[];
  ids: number[];
  text: string;
  stopped: string;
}

export async function runJson(args: string[]): Promise<RunJson> {
  const r = await runCli(['--threads', '2', 'run', ...args, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as RunJson;
}
