/** Typed, validating access to a config.json object; every problem names the file and the key. */
import { FileError } from '../errors.js';

export type Json = Record<string, unknown>;

export class ConfigReader {
  constructor(
    readonly json: Json,
    readonly file: string,
  ) {}

  has(key: string): boolean {
    return this.json[key] !== undefined && this.json[key] !== null;
  }

  positiveInt(key: string, fallback?: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new FileError(this.file, `${key} must be a positive integer (got ${JSON.stringify(this.json[key])})`);
    }
    return v;
  }

  positiveNumber(key: string, fallback?: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !(v > 0)) {
      throw new FileError(this.file, `${key} must be a positive number (got ${JSON.stringify(this.json[key])})`);
    }
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'boolean') throw new FileError(this.file, `${key} must be true or false (got ${JSON.stringify(v)})`);
    return v;
  }

  string(key: string, fallback?: string): string {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'string') throw new FileError(this.file, `${key} must be a string (got ${JSON.stringify(this.json[key])})`);
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback?: T): T {
    const v = this.string(key, fallback);
    if (!(allowed as readonly string[]).includes(v)) {
      throw new FileError(this.file, `${key} '${v}' is not supported (supported: ${allowed.join(', ')})`);
    }
    return v as T;
  }

  fail(problem: string): never {
    throw new FileError(this.file, problem);
  }
}
