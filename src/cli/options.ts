/**
 * The CLI's option parsers, one per kind of value, shared by every command. A bad value is a
 * usage error (one line, exit 2) before anything is read or written; so are the checks a command
 * or the library makes later on flags alone (a UsageError, src/errors.ts), such as two flags that
 * conflict. Rules a library caller must obey too (the ratio, --align) are not restated here: the
 * parser calls the library's own check (src/plan/validate.ts), so the rule and its message live
 * in one place.
 */
import { existsSync, statSync } from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import { UsageError, UserError } from '../errors.js';
import { validateAlign, validateRatio } from '../plan/validate.js';

function wholeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n)) throw new InvalidArgumentError(`expected a whole number, got '${value}'`);
  return n;
}

export function positiveInt(value: string): number {
  const n = wholeNumber(value);
  if (n <= 0) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = wholeNumber(value);
  if (n < 0) throw new InvalidArgumentError(`expected a whole number >= 0, got '${value}'`);
  return n;
}

/** Any finite number (flags whose range the command checks against other flags). */
export function finiteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got '${value}'`);
  return n;
}

export function positiveNumber(value: string): number {
  const n = finiteNumber(value);
  if (n <= 0) throw new InvalidArgumentError(`expected a positive number, got '${value}'`);
  return n;
}

/** A probability that leaves something kept: [0, 1) (--lora-dropout). */
export function dropoutProbability(value: string): number {
  const n = finiteNumber(value);
  if (n < 0 || n >= 1) throw new InvalidArgumentError(`expected a probability in [0, 1), got '${value}'`);
  return n;
}

/** Runs a library check at parse time, turning its UserError into commander's usage error. */
function byLibraryRule<T>(parse: (value: string) => T, check: (parsed: T) => void): (value: string) => T {
  return (value) => {
    const parsed = parse(value);
    try {
      check(parsed);
    } catch (error) {
      if (error instanceof UserError) throw new InvalidArgumentError(error.message);
      throw error;
    }
    return parsed;
  };
}

/** A fraction of the model's parameters, in (0, 1). */
export const ratio = byLibraryRule(finiteNumber, validateRatio);

/** A rounding multiple (--align). */
export const alignment = byLibraryRule(wholeNumber, validateAlign);

/** Comma-separated layer indices (`0,31`); whether they exist is checked against the model. */
export function layerList(value: string): number[] {
  return value.split(',').map((s) => {
    const t = s.trim();
    if (!/^\d+$/.test(t)) throw new InvalidArgumentError(`expected layer indices like 0,31, got '${value}'`);
    return Number(t);
  });
}

/** A path that must already exist, as a file or a folder. */
export function existingPath(kind: 'file' | 'folder'): (value: string) => string {
  return (value) => {
    if (!existsSync(value)) throw new InvalidArgumentError(`${value}: no such ${kind}`);
    const isFolder = statSync(value).isDirectory();
    if (isFolder !== (kind === 'folder')) throw new InvalidArgumentError(`${value}: not a ${kind}`);
    return value;
  };
}

/** An option whose value is one of a registry's names; --help lists them. */
export function registryOption(flags: string, description: string, names: readonly string[]): Option {
  return new Option(flags, description).choices([...names]);
}

/** A comma-separated list of a registry's names (e.g. --tasks), in --help too. */
export function registryListHelp(description: string, names: readonly string[]): string {
  return `${description} (available: ${names.join(', ')})`;
}

/**
 * A whole number >= min for flags the command reads as text (eval's and bench's counts): a
 * UsageError naming the flag (exit 2, as the parsers above).
 */
export function countFlag(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n)) throw new UsageError(`${flag} takes a whole number (got '${value}')`);
  if (n < min) throw new UsageError(`${flag} must be >= ${min} (got ${n})`);
  return n;
}
