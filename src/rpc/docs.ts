/**
 * Doc lines of a module's functions and methods, read from its source text (the JSDoc comment right above
 * each declaration): what `celeriac rpc list` shows for a module served with `celeriac serve`. Pure.
 */

const DOC_THEN_NAME =
  /\/\*\*((?:[^*]|\*(?!\/))*)\*\/\s*(?:export\s+)?(?:default\s+)?(?:(?:public|static|async|readonly|override)\s+)*(?:function\s*\*?\s*|(?:const|let|var)\s+|\*\s*)?([A-Za-z_$][\w$]*)/g;

/** The first sentence or line of a JSDoc body, without its `*` margins and tags. */
export function firstDocLine(body: string): string | undefined {
  const lines = body
    .split('\n')
    .map((l) => l.replace(/^\s*\*?\s?/, '').trim())
    .filter((l) => l !== '');
  const text = lines.find((l) => !l.startsWith('@'));
  if (!text) return undefined;
  const sentence = /^(.+?[.!?])(?:\s|$)/.exec(text);
  return (sentence?.[1] ?? text).trim();
}

/** Name to first doc line for every documented function, method or const in a source text. */
export function docsFromSource(source: string): Map<string, string> {
  const docs = new Map<string, string>();
  for (const m of source.matchAll(DOC_THEN_NAME)) {
    const name = m[2];
    const line = firstDocLine(m[1] ?? '');
    if (name && line && !docs.has(name)) docs.set(name, line);
  }
  return docs;
}
