/**
 * Progress bars with ETA on stderr (cli-progress), only when stderr is a terminal, so logs and
 * pipes stay clean. Each phase ("scoring", "writing") gets its own bar.
 */
import cliProgress from 'cli-progress';
import type { PruneProgress } from '../prune/request.js';

export function terminalProgress(): PruneProgress {
  if (!process.stderr.isTTY) return { phase() {}, tick() {}, done() {} };
  let bar: cliProgress.SingleBar | undefined;
  return {
    phase(name, total) {
      bar?.stop();
      bar = new cliProgress.SingleBar(
        {
          format: `${name.padEnd(8)} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} | {detail}`,
          stream: process.stderr,
          hideCursor: true,
          etaBuffer: 20,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { detail: '' });
    },
    tick(detail = '') {
      bar?.increment(1, { detail });
    },
    done() {
      bar?.stop();
      bar = undefined;
    },
  };
}
