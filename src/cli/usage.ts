/** Bad command-line input: the CLI prints the message and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses JSON given on the command line, or throws UsageError saying what was expected. */
export function parseJsonOption<T>(flag: string, text: string, check: (v: unknown) => v is T, expected: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`${flag} expects ${expected} in JSON, e.g. ${flag} '${expected.startsWith('a list') ? '[5, 5]' : '{"x": 1}'}'; got ${JSON.stringify(text)}`);
  }
  if (!check(value)) throw new UsageError(`${flag} expects ${expected}; got ${text}`);
  return value;
}

/** Parses a number option; throws UsageError when it is not one in range. */
export function parseNumberOption(flag: string, text: string, { min = -Infinity, integer = false } = {}): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} expects ${integer ? 'an integer' : 'a number'}${Number.isFinite(min) ? ` >= ${min}` : ''}; got ${JSON.stringify(text)}`);
  }
  return n;
}

/** Renders rows as a left-aligned text table with a header line; numeric columns are right-aligned. */
export function formatTable(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

/** A task result for people: strings as they are, anything else as JSON. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
