/** Test assertions: node's strict assert under the names the tests use. */

import assert from "node:assert/strict";

/** Deep strict equality. */
export const assertEquals: <T>(actual: T, expected: T, message?: string) => void = (
  actual,
  expected,
  message,
) => assert.deepStrictEqual(actual, expected, message);

/** Truthiness. */
export const assertTrue = (value: unknown, message?: string): void => assert.ok(value, message);

/** The string contains the fragment. */
export function assertIncludes(text: string, fragment: string, message?: string): void {
  assert.ok(
    text.includes(fragment),
    message ?? `expected ${JSON.stringify(text)} to include ${JSON.stringify(fragment)}`,
  );
}

/** The function throws an error of the class whose message matches. */
export function assertThrows(
  fn: () => unknown,
  errorClass: new (...args: never[]) => Error,
  pattern?: RegExp,
): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof errorClass, `expected ${errorClass.name}, got ${String(error)}`);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

/** The promise rejects with an error of the class whose message matches. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  errorClass: new (...args: never[]) => Error,
  pattern?: RegExp,
): Promise<void> {
  await assert.rejects(fn, (error: unknown) => {
    assert.ok(error instanceof errorClass, `expected ${errorClass.name}, got ${String(error)}`);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}
