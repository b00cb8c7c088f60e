/**
 * Checks that a parsed JSON value has the shape of a TypeScript interface. A `Check<T>` names what
 * is wrong with a value that should be a T (or returns nothing); `fields<T>()` takes one check per
 * field of T, and the compiler insists on every field with a check of exactly its type (optional
 * fields need `optional(...)`, nullable ones `nullable(...)`), so an interface and its check cannot
 * drift apart. Keys a check does not know are left alone: a newer writer may have added them.
 */
import { isObject } from './json-input.js';

export interface Check<T> {
  /** The problem, phrased with `where` (e.g. "ratio.asked is not a number"), or undefined for a T. */
  (value: unknown, where: string): string | undefined;
  /** Type only (never set): ties the check to T invariantly, so Check<number> and Check<number | null> differ. */
  readonly type?: (t: T) => T;
}

const shown = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
};

/** A check from a test and the noun phrase of what the value should be. */
function kind<T>(test: (value: unknown) => boolean, noun: string): Check<T> {
  return (value, where) => (value === undefined ? `${where} is missing` : test(value) ? undefined : `${where} is not ${noun} (got ${shown(value)})`);
}

export const aString: Check<string> = kind((v) => typeof v === 'string', 'a string');
export const aBoolean: Check<boolean> = kind((v) => typeof v === 'boolean', 'true or false');
export const aNumber: Check<number> = kind((v) => typeof v === 'number' && Number.isFinite(v), 'a number');
export const aWholeNumber: Check<number> = kind((v) => Number.isSafeInteger(v), 'a whole number');
/** A whole number >= 0 (a position, a count, a token id). */
export const anIndex: Check<number> = kind((v) => Number.isSafeInteger(v) && (v as number) >= 0, 'a whole number >= 0');

export function oneOf<const T extends string>(values: readonly T[]): Check<T> {
  return kind((v) => (values as readonly unknown[]).includes(v), `one of ${values.join(', ')}`);
}

export function nullable<T>(check: Check<T>): Check<T | null> {
  return (value, where) => (value === null ? undefined : check(value, where));
}

export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (value, where) => (value === undefined ? undefined : check(value, where));
}

export function listOf<T>(check: Check<T>): Check<T[]> {
  return (value, where) => {
    if (!Array.isArray(value)) return value === undefined ? `${where} is missing` : `${where} is not a list (got ${shown(value)})`;
    for (let i = 0; i < value.length; i++) {
      const problem = check(value[i], `${where}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  };
}

type FieldChecks<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? Check<Exclude<T[K], undefined> | undefined> : Check<T[K]> };

/** An object with these fields (checked in the order given); other keys are allowed and kept. */
export function fields<T>(checks: FieldChecks<T>): Check<T> {
  return (value, where) => {
    if (!isObject(value)) return value === undefined ? `${where} is missing` : `${where || 'the file'} is not a JSON object`;
    for (const [key, check] of Object.entries(checks) as [string, Check<unknown>][]) {
      const problem = check(value[key], where ? `${where}.${key}` : key);
      if (problem) return problem;
    }
    return undefined;
  };
}

/** A further condition once the shape is right (e.g. indices within a list's length). */
export function refine<T>(check: Check<T>, rule: (value: T, where: string) => string | undefined): Check<T> {
  return (value, where) => check(value, where) ?? rule(value as T, where);
}
