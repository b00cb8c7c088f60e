/**
 * Write failures of the output folder: an errno as a plain phrase for the one-line message, and a
 * test hook that fakes a full disk.
 */

const PHRASES: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'file name too long',
  ENOTEMPTY: 'folder is not empty',
  EEXIST: 'already exists',
};

/** The error's errno code (`ENOSPC`, ...), if it came from the file system. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** "no space left on device" rather than Node's "ENOSPC: no space left on device, write". */
export function describeSystemError(error: unknown): string {
  const code = errnoCode(error);
  if (code && PHRASES[code]) return PHRASES[code];
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0];
}

/**
 * Test hook: AMP_PRUNE_FAIL_WRITE_AFTER_BYTES=N makes the checkpoint writer fail with an
 * ENOSPC error at the first write that would take the bytes it has written past N (tensor data
 * and whole side files; safetensors headers are not counted). Unset, no budget object exists and
 * writes pay nothing for it.
 */
export const FAIL_WRITE_AFTER_BYTES_ENV = 'AMP_PRUNE_FAIL_WRITE_AFTER_BYTES';

export class WriteBudget {
  private written = 0;

  private constructor(private readonly limit: number) {}

  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): WriteBudget | undefined {
    const value = env[FAIL_WRITE_AFTER_BYTES_ENV];
    if (value === undefined || value === '') return undefined;
    if (!/^\d+$/.test(value)) throw new Error(`${FAIL_WRITE_AFTER_BYTES_ENV}=${value} is not a byte count`);
    return new WriteBudget(Number(value));
  }

  /** Accounts for a write of `bytes`, or throws the error a full disk would give. */
  charge(bytes: number): void {
    if (this.written + bytes > this.limit) {
      const error: NodeJS.ErrnoException = new Error(
        `ENOSPC: no space left on device, write (simulated: ${FAIL_WRITE_AFTER_BYTES_ENV}=${this.limit})`,
      );
      error.code = 'ENOSPC';
      error.syscall = 'write';
      throw error;
    }
    this.written += bytes;
  }
}
