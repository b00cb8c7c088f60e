/**
 * Nothing half-written: outputs are written to a temporary sibling and renamed into place, so a
 * failure (or a full disk, or an interruption) leaves either the old file or none.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { interruptionPoint, removeOnInterrupt } from '../interrupt.js';

export function tempSibling(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempSibling(target);
  const forget = removeOnInterrupt(tmp);
  try {
    await fs.writeFile(tmp, data);
    await interruptionPoint(`rename ${path.basename(target)}`);
    await fs.rename(tmp, target);
  } catch (error) {
    await fs.rm(tmp, { force: true });
    throw error;
  } finally {
    forget();
  }
}
