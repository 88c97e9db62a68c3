/** Numeric command-line flags: parsed and range-checked, a bad value a one-line usage error. */

import { UsageError } from "../errors.ts";

/** `--name` as a whole number in min..max (digits only), or `fallback` when absent. */
export function integerFlag(
  value: string | undefined,
  fallback: number,
  name: string,
  min: number,
  max: number,
  command: string,
): number {
  const valid = (text: string) => /^[0-9]+$/.test(text);
  return rangeFlag(value, fallback, { name, min, max, command, valid, kind: "an integer" });
}

/** `--name` as a finite number in min..max (fractions allowed), or `fallback` when absent. */
export function numberFlag(
  value: string | undefined,
  fallback: number,
  name: string,
  min: number,
  max: number,
  command: string,
): number {
  const valid = (text: string) => text.trim() !== "" && Number.isFinite(Number(text));
  return rangeFlag(value, fallback, { name, min, max, command, valid, kind: "a number" });
}

function rangeFlag(
  value: string | undefined,
  fallback: number,
  flag: {
    name: string;
    min: number;
    max: number;
    command: string;
    valid: (text: string) => boolean;
    kind: string;
  },
): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!flag.valid(value) || number < flag.min || number > flag.max) {
    throw new UsageError(
      `--${flag.name} must be ${flag.kind} ${flag.min}-${flag.max}, got '${value}'`,
      flag.command,
    );
  }
  return number;
}
