/** Assertions that a constructor or resolver refuses bad options with the exact typed message. */
import * as assert from 'uvu/assert';
import { isStrongcastError } from '../../src/errors.ts';

/** `fn` must throw ERR_INVALID_OPTION with exactly `message`; `label` names the case in a failure. */
export function assertRefused(fn: () => unknown, message: string, label = message): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isStrongcastError(e, 'ERR_INVALID_OPTION'), `${label}: expected ERR_INVALID_OPTION, got ${String(e)}`);
    assert.is((e as Error).message, message, label);
    return;
  }
  assert.unreachable(`${label}: accepted`);
}

/** Every [label, options, message] case of a table must be refused by `make(options)`. */
export function assertAllRefused(cases: ReadonlyArray<[string, unknown, string]>, make: (options: unknown) => unknown): void {
  for (const [label, options, message] of cases) assertRefused(() => make(options), message, label);
}
