/**
 * Keyword arguments for TypeScript tasks. Celery messages carry args and kwargs; a TS function takes
 * positional arguments. Kwargs are placed by parameter name: the names come from the task's `params`
 * option, or from the function's own parameter list when it is plain identifiers.
 */

/** Splits a parameter list on its top-level commas (not those inside defaults' brackets or strings). */
function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i] as string;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (c === ',' && depth === 0) {
      parts.push(list.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(list.slice(start));
  return parts.map((p) => p.trim()).filter((p, i, all) => p !== '' || i < all.length - 1);
}

/** The parameter list of a function's source text (balanced parentheses), or undefined. */
function parameterList(src: string): string | undefined {
  const arrow = /^(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  if (arrow) return arrow[1];
  const open = src.indexOf('(');
  if (open === -1) return undefined;
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    if (src[i] === '(') depth++;
    else if (src[i] === ')' && --depth === 0) return src.slice(open + 1, i);
  }
  return undefined;
}

/**
 * Parameter names of a function, or undefined when they cannot be read safely. Plain names and names
 * with defaults (`greeting = 'hello'`) are read; a destructured or rest parameter makes the list unreadable.
 */
export function parameterNames(fn: (...args: never[]) => unknown): string[] | undefined {
  const list = parameterList(Function.prototype.toString.call(fn));
  if (list === undefined) return undefined;
  const clean = list.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').trim();
  if (clean === '') return [];
  const names = splitTopLevel(clean).map((p) => /^([A-Za-z_$][\w$]*)\s*(?:=[\s\S]*)?$/.exec(p)?.[1]);
  return names.every((n): n is string => n !== undefined) ? names : undefined;
}

/**
 * Merges kwargs into positional args by name, as Python binds a call. Kwargs that match no parameter are
 * passed as one trailing object, so nothing a Python caller sent is silently dropped; a kwarg naming a
 * parameter that a positional argument already fills is a TypeError, as in Python.
 */
export function placeKwargs(args: readonly unknown[], kwargs: Record<string, unknown>, names: readonly string[] | undefined): unknown[] {
  const keys = Object.keys(kwargs);
  if (keys.length === 0) return [...args];
  const out = [...args];
  const rest: Record<string, unknown> = {};
  for (const key of keys) {
    const i = names ? names.indexOf(key) : -1;
    if (i >= 0 && i < args.length) throw new TypeError(`got multiple values for argument '${key}'`);
    if (i >= 0) out[i] = kwargs[key];
    else rest[key] = kwargs[key];
  }
  if (Object.keys(rest).length > 0) {
    const at = Math.max(out.length, names?.length ?? 0);
    out[at] = rest;
  }
  return out;
}
