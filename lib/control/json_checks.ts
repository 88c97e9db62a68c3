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

/** A field's check and what the error says it should be (`[isCount, "a count"]`). */
export type FieldCheck = readonly [accept: (value: unknown) => boolean, expected: string];

/**
 * Throws unless each field of `object` named in `fields` passes its check, in that order;
 * `optional`: only the fields present are checked (older daemons leave them out).
 */
export function checkFields(
  object: Record<string, unknown>,
  where: string,
  fields: Record<string, FieldCheck>,
  presence: "required" | "optional" = "required",
): void {
  for (const [key, [accept, expected]] of Object.entries(fields)) {
    if (presence === "optional" && !(key in object)) continue;
    checkField(object, key, where, accept, expected);
  }
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

/** A string, as a field check. */
export const STRING: FieldCheck = [isString, "a string"];
/** A string or null, as a field check. */
export const STRING_OR_NULL: FieldCheck = [isStringOrNull, "a string or null"];
/** An array of strings, as a field check. */
export const STRINGS: FieldCheck = [isStringArray, "an array of strings"];
/** A count, as a field check. */
export const COUNT: FieldCheck = [isCount, "a count"];
/** A byte count, as a field check. */
export const BYTE_COUNT: FieldCheck = [isCount, "a byte count"];
/** A non-negative integer, said "a number" (ports, pids). */
export const NUMBER: FieldCheck = [isCount, "a number"];
/** A boolean, as a field check. */
export const BOOLEAN: FieldCheck = [(value) => typeof value === "boolean", "a boolean"];
