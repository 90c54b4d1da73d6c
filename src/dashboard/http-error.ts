/** The one error the dashboard's handlers throw on bad requests: an HTTP status and a message saying what was expected. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** A positive (or, with `min: 0`, non-negative) integer query/form field, or 400 saying so. */
export function intField(name: string, text: string | null, fallback: number, min = 1): number {
  if (text === null || text === '') return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new HttpError(400, `${name}: expected an integer >= ${min}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** A boolean field: true/false/1/0/yes/no (case-insensitive), or 400. */
export function boolField(name: string, text: string | null, fallback: boolean): boolean {
  if (text === null || text === '') return fallback;
  const t = text.toLowerCase();
  if (['true', '1', 'yes'].includes(t)) return true;
  if (['false', '0', 'no'].includes(t)) return false;
  throw new HttpError(400, `${name}: expected true or false, got ${JSON.stringify(text)}`);
}
