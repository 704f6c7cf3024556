/**
 * Validators shared by every options object: each checks one field once, at construction, and throws
 * ERR_INVALID_OPTION with a message that names the field, e.g. `options.frameBytesMax must be a positive
 * integer`. A bad option is the user's mistake, so the message is written for a person, not a stack trace.
 */
import { StrongcastError } from './errors.ts';

function invalid(name: string, what: string): never {
  throw new StrongcastError('ERR_INVALID_OPTION', `options.${name} must be ${what}`);
}

/** Returns `value` when it is an integer >= 1 (a safe integer); otherwise throws ERR_INVALID_OPTION. */
export function positiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) invalid(name, 'a positive integer');
  return value;
}

/** Returns `value` when it is an integer >= 0 (a safe integer); otherwise throws ERR_INVALID_OPTION. */
export function nonNegativeInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) invalid(name, 'a non-negative integer');
  return value;
}

/** Returns `value` when it is a finite number > 0; otherwise throws ERR_INVALID_OPTION. */
export function positiveNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) invalid(name, 'a positive number');
  return value;
}

/** Returns `value` when it is a finite number >= 0; otherwise throws ERR_INVALID_OPTION. */
export function nonNegativeNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) invalid(name, 'a non-negative number');
  return value;
}

/** Returns `value` when it is a number in 0..1 inclusive; otherwise throws ERR_INVALID_OPTION. */
export function fraction(value: unknown, name: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) invalid(name, 'a number in 0..1');
  return value;
}

/**
 * Throws ERR_INVALID_OPTION when `options` is neither undefined nor a plain object, so a caller who passes
 * `new SeenCache(5)` hears about it instead of silently getting the defaults.
 */
export function optionsObject(options: unknown, name = 'options'): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new StrongcastError('ERR_INVALID_OPTION', `${name} must be an object`);
  }
}
