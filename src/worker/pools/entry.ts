/**
 * Where the pool children's runtime is. Built, it is `child.js` beside this file; when celeriac itself runs
 * from its TypeScript sources (its own tests), it is `child.ts`, loaded through tsx.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export interface ChildEntry {
  /** file: URL of the runtime module. */
  url: URL;
  /** file: URL of tsx's ESM loader when the runtime is TypeScript. */
  tsxLoader: string | undefined;
  /** file: URL of tsx's register() API when the runtime is TypeScript. */
  tsxApi: string | undefined;
}

export function childEntry(): ChildEntry {
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(fromSource ? './child.ts' : './child.js', import.meta.url);
  if (!fromSource) return { url, tsxLoader: undefined, tsxApi: undefined };
  const require = createRequire(import.meta.url);
  return {
    url,
    tsxLoader: pathToFileURL(require.resolve('tsx')).href,
    tsxApi: pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href,
  };
}
