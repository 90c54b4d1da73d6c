/**
 * Reads a Python Celery config module WITHOUT running it (for `celeriac upgrade settings`): the top-level
 * `NAME = literal` assignments, where a literal is a string, number, True/False/None, a list, tuple, set or
 * dict of literals, arithmetic on numbers, `+` on strings and lists, or a name assigned above. Anything else
 * (calls, attributes, f-strings, assignments inside if/def/with blocks) is reported, never evaluated.
 * Pure: source text in, assignments and name tokens out.
 */

import { tokenize, type Token } from './python-tokens.js';

export { tokenize, type Token } from './python-tokens.js';

export type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

export interface Assignment {
  name: string;
  /** 1-based line of the name. */
  line: number;
  /** The value's source text. */
  source: string;
  value?: PyValue;
  /** Why the value is not a literal (then `value` is undefined). */
  error?: string;
}

const HINTS: Record<string, string> = {
  timedelta: 'write the number of seconds',
  crontab: "write a cron string ('0 */2 * * *') or celeriac's crontab({...}) in the celeriac config",
  Queue: "use celeriac's queues option ({ name, exchange, routingKey })",
  Exchange: "use celeriac's queues option ({ name, exchange: { name, type } })",
  environ: 'celeriac reads CELERIAC_* environment variables itself (e.g. CELERIAC_BROKER_URL)',
  getenv: 'celeriac reads CELERIAC_* environment variables itself (e.g. CELERIAC_BROKER_URL)',
};

class Parser {
  private i = 0;
  constructor(
    private readonly toks: Token[],
    private readonly scope: Map<string, PyValue>,
  ) {}

  parse(): PyValue {
    const v = this.expr();
    if (this.i < this.toks.length) this.fail(this.toks[this.i] as Token);
    return v;
  }

  private peek(text?: string): Token | undefined {
    const t = this.toks[this.i];
    return text === undefined || t?.text === text ? t : undefined;
  }

  private take(text: string): void {
    const t = this.toks[this.i];
    if (t?.text !== text) this.fail(t, `expected '${text}'`);
    this.i++;
  }

  private fail(t: Token | undefined, what?: string): never {
    if (!t) throw new Error(what ? `${what} at the end` : 'the value ends too soon');
    const prev = this.toks[this.i - 1];
    if (t.text === '(' && prev?.kind === 'name') throw new Error(`not a literal: it calls ${prev.text}()${HINTS[prev.text] ? `; ${HINTS[prev.text]}` : ''}`);
    if (t.text === '.' && prev?.kind === 'name') {
      const attr = this.toks[this.i + 1]?.text ?? '';
      throw new Error(`not a literal: it reads ${prev.text}.${attr}${HINTS[attr] ? `; ${HINTS[attr]}` : ''}`);
    }
    throw new Error(what ? `${what}, found '${t.text}'` : `not a literal: '${t.text}' is not supported here`);
  }

  private expr(): PyValue {
    let v = this.term();
    for (let op = this.peek(); op && (op.text === '+' || op.text === '-'); op = this.peek()) {
      this.i++;
      const r = this.term();
      if (typeof v === 'number' && typeof r === 'number') v = op.text === '+' ? v + r : v - r;
      else if (op.text === '+' && typeof v === 'string' && typeof r === 'string') v = v + r;
      else if (op.text === '+' && Array.isArray(v) && Array.isArray(r)) v = [...v, ...r];
      else throw new Error(`not a literal: '${op.text}' on ${typeof v} and ${typeof r}`);
    }
    return v;
  }

  private term(): PyValue {
    let v = this.unary();
    for (let op = this.peek(); op && ['*', '/', '//', '%'].includes(op.text); op = this.peek()) {
      this.i++;
      const r = this.unary();
      if (typeof v !== 'number' || typeof r !== 'number') throw new Error(`not a literal: '${op.text}' on ${typeof v} and ${typeof r}`);
      if (op.text !== '*' && r === 0) throw new Error('not a literal: division by zero');
      v = op.text === '*' ? v * r : op.text === '/' ? v / r : op.text === '//' ? Math.floor(v / r) : v - r * Math.floor(v / r);
    }
    return v;
  }

  private unary(): PyValue {
    const t = this.peek();
    if (t && (t.text === '-' || t.text === '+')) {
      this.i++;
      const v = this.unary();
      if (typeof v !== 'number') throw new Error(`not a literal: '${t.text}' on ${typeof v}`);
      return t.text === '-' ? -v : v;
    }
    const base = this.atom();
    if (this.peek('**')) {
      this.i++;
      const e = this.unary();
      if (typeof base !== 'number' || typeof e !== 'number') throw new Error("not a literal: '**' on non-numbers");
      return base ** e;
    }
    return base;
  }

  private atom(): PyValue {
    const t = this.toks[this.i];
    if (!t) this.fail(t);
    this.i++;
    if (t.kind === 'number') {
      if (/[jJ]$/.test(t.text)) throw new Error(`not a literal celeriac can use: complex number ${t.text}`);
      const text = t.text.replace(/_/g, '');
      return /^0[oObB]/.test(text) ? parseInt(text.slice(2), /^0[oO]/.test(text) ? 8 : 2) : Number(text);
    }
    if (t.kind === 'string') {
      let s = '';
      for (let cur: Token | undefined = t; cur?.kind === 'string'; cur = this.toks[this.i]) {
        if (cur.value === undefined) throw new Error(`not a literal: ${/^[rb]*f/i.test(cur.text) ? 'an f-string' : 'bytes'} (${cur.text.slice(0, 30)})`);
        s += cur.value;
        if (cur !== t) this.i++;
      }
      return s;
    }
    if (t.kind === 'name') {
      if (t.text === 'True') return true;
      if (t.text === 'False') return false;
      if (t.text === 'None') return null;
      const next = this.toks[this.i];
      if (next?.text === '(' || next?.text === '.') this.fail(next);
      if (this.scope.has(t.text)) return this.scope.get(t.text) as PyValue;
      throw new Error(`not a literal: the name ${t.text} is not assigned a literal above`);
    }
    if (t.text === '(' || t.text === '[') return this.sequence(t.text === '(' ? ')' : ']');
    if (t.text === '{') return this.braces();
    return this.fail(t);
  }

  /** A list or tuple (or a parenthesised expression). */
  private sequence(close: string): PyValue {
    const items: PyValue[] = [];
    let comma = false;
    while (!this.peek(close)) {
      items.push(this.expr());
      if (this.peek(',')) {
        this.i++;
        comma = true;
      } else break;
    }
    this.take(close);
    return close === ')' && items.length === 1 && !comma ? (items[0] as PyValue) : items;
  }

  /** A dict (keys turn into strings) or a set (a list). */
  private braces(): PyValue {
    if (this.peek('}')) {
      this.i++;
      return {};
    }
    const first = this.expr();
    if (!this.peek(':')) {
      const items = [first];
      while (this.peek(',')) {
        this.i++;
        if (this.peek('}')) break;
        items.push(this.expr());
      }
      this.take('}');
      return items;
    }
    const out: { [key: string]: PyValue } = {};
    let key = first;
    for (;;) {
      this.take(':');
      out[typeof key === 'string' ? key : JSON.stringify(key)] = this.expr();
      if (!this.peek(',')) break;
      this.i++;
      if (this.peek('}')) break;
      key = this.expr();
    }
    this.take('}');
    return out;
  }
}

/** The module's assignments in order: `NAME = literal` at the top level, and NAME = ... in blocks (as errors). */
export function readAssignments(src: string, isSetting: (name: string) => boolean = () => true): Assignment[] {
  const toks = tokenize(src);
  const scope = new Map<string, PyValue>();
  const out: Assignment[] = [];
  let start = 0;
  for (let i = 0; i <= toks.length; i++) {
    const t = toks[i];
    if (t && t.kind !== 'newline' && t.text !== ';') continue;
    const stmt = toks.slice(start, i);
    start = i + 1;
    const [head, eq] = stmt;
    if (!head || head.kind !== 'name' || !eq) continue;
    const indented = Boolean(head.indented);
    if (!['=', '+=', '-=', '*=', '/='].includes(eq.text)) continue;
    const valueToks = stmt.slice(2);
    // `A = B = value`: every name takes the value.
    const names = [head.text];
    let from = 0;
    while (valueToks[from]?.kind === 'name' && valueToks[from + 1]?.text === '=') {
      names.push((valueToks[from] as Token).text);
      from += 2;
    }
    const vt = valueToks.slice(from);
    const last = vt[vt.length - 1];
    const source = vt.length && last ? src.slice((vt[0] as Token).at, last.at + last.text.length) : '';
    for (const name of names) {
      if (!isSetting(name) && indented) continue;
      const base = { name, line: head.line, source };
      if (indented) out.push({ ...base, error: 'assigned inside a block (if, def, with, try...): not carried over; set it at the top level' });
      else if (eq.text !== '=') out.push({ ...base, error: `not a literal: augmented assignment '${eq.text}'` });
      else {
        try {
          const value = new Parser(vt, scope).parse();
          scope.set(name, value);
          out.push({ ...base, value });
        } catch (err) {
          scope.delete(name);
          out.push({ ...base, error: err instanceof Error ? err.message : String(err) });
        }
      }
    }
  }
  return out;
}

/** The source with every name token that `rename` maps replaced (strings and comments untouched). */
export function renameNames(src: string, rename: (name: string) => string | undefined): string {
  let out = '';
  let at = 0;
  for (const t of tokenize(src)) {
    if (t.kind !== 'name') continue;
    const to = rename(t.text);
    if (to === undefined || to === t.text) continue;
    out += src.slice(at, t.at) + to;
    at = t.at + t.text.length;
  }
  return out + src.slice(at);
}
