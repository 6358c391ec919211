import { expect } from 'vitest';
import { show, type Parsed } from '../../../gateway/src/platforms/wire.js';

/** Asserts a parse succeeded and returns the message. */
export function ok<T>(r: Parsed<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.code}: ${r.reason}`);
  return r.msg;
}

/** Same JSON text, byte for byte (so key order counts). */
export function sameJson(a: unknown, b: unknown): void {
  expect(JSON.stringify(a)).toBe(JSON.stringify(b));
}

/** Asserts a typed error (and that the parser returned rather than threw). */
export function rejects<T>(
  parse: (j: unknown) => Parsed<T>,
  input: unknown,
  code: 'CONTROL_INVALID' | 'FRAME_TOO_LARGE' = 'CONTROL_INVALID',
): void {
  let r: Parsed<T>;
  try {
    r = parse(input);
  } catch (e) {
    throw new Error(`parser threw on ${show(input).slice(0, 120)}`, { cause: e });
  }
  expect(r.ok, show(input).slice(0, 200)).toBe(false);
  if (!r.ok) {
    expect(r.code).toBe(code);
    expect(r.reason.length).toBeGreaterThan(0);
  }
}

/** Inputs no parser may accept or throw on. */
export const GARBAGE: readonly unknown[] = [
  null,
  undefined,
  42,
  'media',
  [],
  [{ event: 'media' }],
  {},
  { event: 7 },
  { event: 'nope' },
  { action: 'nope' },
];

/** A base64 string of `n` characters that is too large for any JSON media message. */
export function hugeB64(chars = 600 * 1024): string {
  return 'A'.repeat(chars);
}

/** Deep copy with one path replaced (or deleted with `undefined`). */
export function mutate(obj: unknown, path: readonly string[], value: unknown): unknown {
  const copy = structuredClone(obj) as Record<string, unknown>;
  let o: Record<string, unknown> = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) Reflect.deleteProperty(o, last);
  else o[last] = value;
  return copy;
}
