/** Shape checks of JSON the daemon sends, each failure a ControlError naming the field. */

import { ControlError } from "./control_error.ts";

/** A JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Throws unless `object[key]` passes `accept`; `where` names the object, e.g. `status.peers[2]`. */
export function checkField(
  object: Record<string, unknown>,
  key: string,
  where: string,
  accept: (value: unknown) => boolean,
  expected: string,
): void {
  if (!accept(object[key])) {
    throw new ControlError(`the daemon sent an invalid status: ${where}.${key} is not ${expected}`);
  }
}

/** Throws unless `value` is an object; `where` names it, e.g. `status.peers[2]`. */
export function checkObject(
  value: unknown,
  where: string,
): asserts value is Record<string, unknown> {
  if (!isObject(value)) throw new ControlError(`the daemon sent an invalid status: ${where}`);
}

/** Throws unless `object[key]` is an array whose every item passes `check` (`at`: `where.key[i]`). */
export function checkEach(
  object: Record<string, unknown>,
  key: string,
  where: string,
  check: (item: unknown, at: string) => void,
): void {
  checkField(object, key, where, Array.isArray, "an array");
  (object[key] as unknown[]).forEach((item, i) => check(item, `${where}.${key}[${i}]`));
}

/** A string. */
export const isString = (value: unknown) => typeof value === "string";
/** A string or null. */
export const isStringOrNull = (value: unknown) => value === null || typeof value === "string";
/** A non-negative safe integer. */
export const isCount = (value: unknown) =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
/** An array of strings. */
export const isStringArray = (value: unknown) =>
  Array.isArray(value) && value.every((item) => typeof item === "string");
