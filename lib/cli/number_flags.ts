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
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!/^[0-9]+$/.test(value) || number < min || number > max) {
    throw new UsageError(`--${name} must be an integer ${min}-${max}, got '${value}'`, command);
  }
  return number;
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
  if (value === undefined) return fallback;
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number) || number < min || number > max) {
    throw new UsageError(`--${name} must be a number ${min}-${max}, got '${value}'`, command);
  }
  return number;
}
