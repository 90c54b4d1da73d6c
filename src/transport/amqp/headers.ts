/**
 * Application headers as amqplib can encode them in an AMQP field table. amqplib guesses a number's type and
 * throws (on publish) for NaN, -Infinity, integers past ±2^63 and fractions above 2^50, and reads an object with
 * an own '!' key as a type annotation: such values are wrapped here so they travel as a double and a table.
 * Undefined values are dropped (as JSON does). Headers that need none of this are passed through as they are.
 */

const TWO_63 = 2 ** 63;

/** Whether amqplib encodes this number correctly by its own guess. */
function plainNumber(n: number): boolean {
  return Number.isInteger(n) ? n > -TWO_63 && n < TWO_63 : Number.isFinite(n) && Math.abs(n) < 2 ** 50;
}

function needsWrap(value: unknown): boolean {
  if (typeof value === 'number') return !plainNumber(value);
  if (value === undefined || typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol') return true;
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return false;
  if (Array.isArray(value)) return value.some(needsWrap);
  return Object.hasOwn(value, '!') || Object.values(value).some(needsWrap);
}

function wrap(value: unknown): unknown {
  if (typeof value === 'number') return plainNumber(value) ? value : { '!': 'double', value };
  if (typeof value === 'bigint') return String(value);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : wrap(v)));
  // Own data properties, never assignment: a key named "__proto__" (an own key after JSON.parse) assigned with
  // `table[k] = ...` would set the table's prototype, whose keys amqplib's for-in would then encode as headers.
  const table: Record<string, unknown> = Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol')
      .map(([k, v]) => [k, wrap(v)]),
  );
  return Object.hasOwn(table, '!') ? { '!': 'object', value: table } : table;
}

/** The headers ready for amqplib: the same object when nothing needs wrapping. */
export function fieldTable(headers: Record<string, unknown>): Record<string, unknown> {
  return needsWrap(headers) ? (wrap(headers) as Record<string, unknown>) : headers;
}
