/**
 * Python source split into tokens for `celeriac upgrade settings` (the subset a config module uses): names,
 * numbers, strings with their values (all quotes and prefixes; f-strings and bytes get none), operators, and
 * NEWLINE where a logical line ends. Comments, blank lines and backslash continuations are skipped. Pure.
 */

export interface Token {
  kind: 'name' | 'number' | 'string' | 'op' | 'newline';
  text: string;
  /** Offset in the source. */
  at: number;
  line: number;
  /** A string's value; undefined for f-strings and bytes. */
  value?: string;
  /** First token of a line that starts indented. */
  indented?: boolean;
}

const OPS = ['**', '//', '->', '+=', '-=', '*=', '/=', '==', '!=', '<=', '>=', ':=', '(', ')', '[', ']', '{', '}', ',', ':', ';', '.', '=', '+', '-', '*', '/', '%', '@', '<', '>', '&', '|', '^', '~'];
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };

function unescape(body: string): string {
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{1,3}|.|\n)/g, (m, e: string) => {
    if (/^[xuU]/.test(e)) return String.fromCodePoint(parseInt(e.slice(1), 16));
    if (/^[0-7]+$/.test(e)) return String.fromCodePoint(parseInt(e, 8));
    return ESCAPES[e] ?? m;
  });
}

/** Splits Python source into tokens; NEWLINE only where a logical line ends (outside brackets, no backslash). */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let depth = 0;
  let lineStart = true;
  while (i < src.length) {
    const ch = src[i] as string;
    if (ch === '\n') {
      if (depth === 0 && out.length && out[out.length - 1]?.kind !== 'newline') out.push({ kind: 'newline', text: '\n', at: i, line });
      line++;
      i++;
      lineStart = true;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\f') {
      i++;
      continue;
    }
    if (ch === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (ch === '\\' && src[i + 1] === '\n') {
      i += 2;
      line++;
      continue;
    }
    const indented = lineStart && depth === 0 && i > 0 && src[i - 1] !== '\n';
    lineStart = false;
    const str = /^([rRbBuUfF]{0,2})('''|"""|'|")/.exec(src.slice(i, i + 5));
    if (str && (str[1] === '' || /^(r|b|u|f|rb|br|fr|rf)$/i.test(str[1] as string))) {
      const prefix = (str[1] as string).toLowerCase();
      const quote = str[2] as string;
      let j = i + str[0].length;
      while (j < src.length && !src.startsWith(quote, j)) {
        if (src[j] === '\\') j++;
        else if (src[j] === '\n' && quote.length === 1) throw new SyntaxError(`line ${line}: a string is not closed`);
        j++;
      }
      if (j >= src.length) throw new SyntaxError(`line ${line}: a string is not closed`);
      const body = src.slice(i + str[0].length, j);
      const text = src.slice(i, j + quote.length);
      const value = prefix.includes('f') || prefix.includes('b') ? undefined : prefix.includes('r') ? body : unescape(body);
      out.push({ kind: 'string', text, at: i, line, ...(value === undefined ? {} : { value }), ...(indented ? { indented } : {}) });
      line += (text.match(/\n/g) ?? []).length;
      i = j + quote.length;
      continue;
    }
    const num = /^(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][+-]?\d+)?[jJ]?)/.exec(src.slice(i));
    if (num && /[\d.]/.test(ch) && num[0] !== '.') {
      out.push({ kind: 'number', text: num[0], at: i, line, ...(indented ? { indented } : {}) });
      i += num[0].length;
      continue;
    }
    const name = /^[A-Za-z_\u00c0-\uffff][\w\u00c0-\uffff]*/.exec(src.slice(i));
    if (name) {
      out.push({ kind: 'name', text: name[0], at: i, line, ...(indented ? { indented } : {}) });
      i += name[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new SyntaxError(`line ${line}: unexpected character ${JSON.stringify(ch)}`);
    if ('([{'.includes(op)) depth++;
    if (')]}'.includes(op)) depth = Math.max(0, depth - 1);
    out.push({ kind: 'op', text: op, at: i, line, ...(indented ? { indented } : {}) });
    i += op.length;
  }
  if (out.length && out[out.length - 1]?.kind !== 'newline') out.push({ kind: 'newline', text: '', at: src.length, line });
  return out;
}
