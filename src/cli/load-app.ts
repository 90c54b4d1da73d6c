/** Loads the user's app module (`-A ./tasks.ts`): TypeScript through tsx, no build step; export `app` or default. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Celeriac } from '../index.js';
import { UsageError } from './usage.js';
import { applyWorkerHeapFlags } from './worker-heap.js';

function isApp(v: unknown): v is Celeriac {
  return v instanceof Celeriac || (typeof v === 'object' && v !== null && 'tasks' in v && 'connection' in v && 'producer' in v);
}

/** Imports the module and returns its app. Throws UsageError (exit 2) when it has none. */
export async function loadApp(spec: string | undefined): Promise<Celeriac> {
  return (await loadAppModule(spec)).app;
}

/** The app and everything its module exports (none without -A). */
export async function loadAppModule(spec: string | undefined): Promise<{ app: Celeriac; exports: Record<string, unknown> }> {
  if (!spec) return { app: new Celeriac(), exports: {} };
  const [file, exportName] = spec.split(':') as [string, string | undefined];
  const path = resolve(file);
  if (!existsSync(path)) throw new UsageError(`-A ${spec}: no such file '${path}'. Give the path of the module that creates your app, e.g. -A ./tasks.ts`);
  if (/\.[mc]?tsx?$/.test(path)) {
    const { register } = await import('tsx/esm/api');
    register();
    applyWorkerHeapFlags();
  }
  const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const candidates = exportName ? [mod[exportName]] : [mod['app'], mod['default'], (mod['default'] as Record<string, unknown> | undefined)?.['app']];
  const app = candidates.find(isApp);
  if (!app) {
    const names = Object.keys(mod).join(', ') || 'nothing';
    throw new UsageError(`-A ${spec}: the module exports no celeriac app${exportName ? ` named '${exportName}'` : " as 'app' or default"} (it exports: ${names}). Add: export const app = new Celeriac('tasks')`);
  }
  return { app: app as Celeriac, exports: mod };
}
