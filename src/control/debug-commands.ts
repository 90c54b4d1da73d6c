/**
 * The debugging commands, with Celery's names, arguments and replies: `inspect memsample`, `memdump`, `objgraph`
 * (the Node equivalent: objects by constructor from a heap snapshot) and `control pool_restart`.
 */
import { unsupported } from './inspect-commands.js';
import type { CommandRegistry } from './registry.js';

function count(value: unknown, name: string, fallback: number | undefined, min: number): number | undefined {
  if (value === undefined || value === null || value === '') return fallback;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min) throw new Error(`${name} expects a number >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

export function registerDebugCommands(registry: CommandRegistry): void {
  registry.register(
    'memsample',
    {
      kind: 'inspect',
      args: [{ name: 'every', type: 'number', help: 'also sample every N seconds (0 stops)' }, { name: 'samples', type: 'number', help: 'how many timed samples (default 60)' }],
      help: "Sample the worker's memory now (RSS, heap) for memdump; with every: on a timer too",
    },
    (t, args) => {
      if (!t.memSample) return unsupported('memsample', t.hostname);
      const every = count(args['every'], 'every', undefined, 0);
      return t.memSample(every, count(args['samples'], 'samples', 60, 1));
    },
  );

  registry.register('memdump', { kind: 'inspect', args: [{ name: 'samples', type: 'number', help: 'at most this many samples (default 10)' }], help: 'The memory samples so far (then cleared) and the memory now' }, (t, args) => {
    if (!t.memDump) return unsupported('memdump', t.hostname);
    return t.memDump(count(args['samples'], 'samples', 10, 1));
  });

  registry.register(
    'objgraph',
    {
      kind: 'inspect',
      timeout: 60,
      args: [
        { name: 'type', type: 'string', help: 'count only this constructor, e.g. Request' },
        { name: 'num', type: 'number', help: 'list at most this many names (default 200)' },
        { name: 'keep', type: 'boolean', help: 'keep the heap snapshot file (its path is replied)' },
      ],
      help: "Objects on the worker's heap by constructor (a heap snapshot: the worker pauses meanwhile)",
    },
    async (t, args) => {
      if (!t.objectCounts) return unsupported('objgraph', t.hostname);
      const type = typeof args['type'] === 'string' && args['type'] ? args['type'] : undefined;
      const num = count(args['num'], 'num', undefined, 1);
      return t.objectCounts({ ...(type ? { type } : {}), ...(num ? { num } : {}), keep: args['keep'] === true });
    },
  );

  // Celery's modules/reload/reloader arguments are accepted and not needed: new threads and children are not
  // forks, so they always import the app module (and what it imports) as it is on disk.
  registry.register('pool_restart', { kind: 'control', help: 'Replace the pool\'s threads or children: they re-import the app module (needs --pool-restarts)' }, (t) => {
    if (!t.poolRestart) return unsupported('pool_restart', t.hostname);
    return t.poolRestart();
  });
}
