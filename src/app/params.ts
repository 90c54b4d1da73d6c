/**
 * Keyword arguments for TypeScript tasks. Celery messages carry args and kwargs; a TS function takes
 * positional arguments. Kwargs are placed by parameter name: the names come from the task's `params`
 * option, or from the function's own parameter list when it is plain identifiers.
 */

/** Plain parameter names of a function, or undefined when they cannot be read safely. */
export function parameterNames(fn: (...args: never[]) => unknown): string[] | undefined {
  const src = Function.prototype.toString.call(fn);
  const m = /^(?:async\s+)?(?:function\b[^(]*)?\(([^)]*)\)/.exec(src) ?? /^(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  if (!m) return undefined;
  const list = (m[1] ?? '').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').trim();
  if (list === '') return [];
  const names = list.split(',').map((p) => p.trim());
  if (names.at(-1) === '') names.pop();
  return names.every((n) => /^[A-Za-z_$][\w$]*$/.test(n)) ? names : undefined;
}

/**
 * Merges kwargs into positional args by name. Kwargs that match no parameter are passed as one trailing
 * object, so nothing a Python caller sent is silently dropped.
 */
export function placeKwargs(args: readonly unknown[], kwargs: Record<string, unknown>, names: readonly string[] | undefined): unknown[] {
  const keys = Object.keys(kwargs);
  if (keys.length === 0) return [...args];
  const out = [...args];
  const rest: Record<string, unknown> = {};
  for (const key of keys) {
    const i = names ? names.indexOf(key) : -1;
    if (i >= 0 && i >= args.length) out[i] = kwargs[key];
    else if (i < 0) rest[key] = kwargs[key];
  }
  if (Object.keys(rest).length > 0) {
    const at = Math.max(out.length, names?.length ?? 0);
    out[at] = rest;
  }
  return out;
}
