/** Python-style repr of JSON values, for Celery's argsrepr/kwargsrepr headers (shown by Flower and `celery events`). */

/** Python's float repr: shortest digits, exponent form below 1e-4 with a two-digit exponent (`1e-05`). */
function floatRepr(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  // An integral number is an int on the Python side once it went through JSON.
  if (Number.isInteger(v) && Math.abs(v) < 1e21) return String(v);
  const abs = Math.abs(v);
  const text = abs !== 0 && (abs < 1e-4 || abs >= 1e16) ? v.toExponential() : String(v);
  return text.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Python's str repr: single quotes unless the text has ' and no ", then double quotes. */
function strRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0) as number;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || (code >= 0x7f && code < 0xa0)) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${quote}${out}${quote}`;
}

function repr(v: unknown, depth: number): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return floatRepr(v);
  if (typeof v === 'string') return strRepr(v);
  if (typeof v === 'bigint') return v.toString();
  if (depth > 8) return '...';
  if (Array.isArray(v)) return `[${v.map((x) => repr(x, depth + 1)).join(', ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).map(([k, x]) => `${repr(k, depth + 1)}: ${repr(x, depth + 1)}`);
    return `{${entries.join(', ')}}`;
  }
  return strRepr(String(v));
}

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

/** The Python repr of one JSON value: `[1, 'a', None]`, `{'k': True}`. */
export function pyRepr(value: unknown, max = 1024): string {
  return truncate(repr(value, 0), max);
}

/** Positional arguments render as a Python tuple: `(2, 2)`, `(1,)`, `()`. */
export function argsRepr(args: readonly unknown[], max = 1024): string {
  const inner = args.map((a) => repr(a, 1)).join(', ');
  return truncate(args.length === 1 ? `(${inner},)` : `(${inner})`, max);
}

export function kwargsRepr(kwargs: Record<string, unknown>, max = 1024): string {
  return truncate(repr(kwargs, 0), max);
}
