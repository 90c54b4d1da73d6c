/** The built-in inspect commands (read-only), with Celery's names, arguments and reply shapes. */
import type { CommandRegistry } from './registry.js';
import type { ControlTarget, TaskRequestSnapshot } from './types.js';

/** The reply for a command whose engine method this worker lacks. */
export function unsupported(command: string, hostname: string): { error: string } {
  return { error: `'${command}' is not supported by this worker (${hostname})` };
}

function toIds(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap((v) => toIds(v));
  return [];
}

export function registerInspectCommands(registry: CommandRegistry): void {
  registry.register('ping', { kind: 'inspect', help: "Reply 'pong' (is the worker alive?)" }, () => ({ ok: 'pong' }));

  registry.register('clock', { kind: 'inspect', help: "The worker's logical (Lamport) clock" }, (_t, _a, ctx) => ({ clock: ctx.clock.value }));

  registry.register('stats', { kind: 'inspect', help: 'Worker statistics: pool, totals per task, uptime, broker, prefetch' }, (t) =>
    t.stats ? t.stats() : unsupported('stats', t.hostname),
  );

  registry.register('active', { kind: 'inspect', aliases: ['dump_active'], args: [{ name: 'safe', type: 'boolean' }], help: 'Tasks running now' }, (t) =>
    t.activeRequests ? t.activeRequests() : unsupported('active', t.hostname),
  );

  registry.register('reserved', { kind: 'inspect', aliases: ['dump_reserved'], help: 'Tasks prefetched, waiting for a pool slot' }, (t) =>
    t.reservedRequests ? t.reservedRequests() : unsupported('reserved', t.hostname),
  );

  registry.register('scheduled', { kind: 'inspect', aliases: ['dump_schedule'], help: 'Tasks held until their ETA (countdown)' }, (t) =>
    t.scheduledRequests ? t.scheduledRequests() : unsupported('scheduled', t.hostname),
  );

  registry.register('revoked', { kind: 'inspect', aliases: ['dump_revoked'], help: 'Ids in the worker\'s revoked set' }, (t) => t.revokedIds.ids());

  registry.register(
    'registered',
    { kind: 'inspect', aliases: ['dump_tasks'], args: [{ name: 'taskinfoitems', type: 'string', variadic: true, help: 'attributes to show, e.g. rate_limit' }], help: 'Registered task names, optionally with attributes' },
    (t, args) => {
      const items = toIds(args['taskinfoitems']);
      // As Celery: the built-in `celery.*` tasks (map, starmap, chunks) only with `builtins: true` in the arguments.
      return t
        .registeredTasks()
        .filter((task) => args['builtins'] === true || !task.name.startsWith('celery.'))
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((task) => {
          const fields = items.filter((k) => task.attributes[k] !== undefined && task.attributes[k] !== null).map((k) => `${k}=${String(task.attributes[k])}`);
          return fields.length ? `${task.name} [${fields.join(' ')}]` : task.name;
        });
    },
  );

  registry.register('active_queues', { kind: 'inspect', help: 'Queues the worker consumes from' }, (t) => t.activeQueues());

  registry.register('conf', { kind: 'inspect', aliases: ['dump_conf'], args: [{ name: 'with_defaults', type: 'boolean' }], help: 'The effective configuration (secrets masked)' }, (t, args) =>
    t.configuration(args['with_defaults'] === true),
  );

  registry.register('query_task', { kind: 'inspect', args: [{ name: 'ids', type: 'string', variadic: true, required: true }], help: 'State of the given task ids on the worker' }, (t, args) => {
    const wanted = new Set(toIds(args['ids'] ?? args['id'] ?? args['task_id']));
    const out: Record<string, [string, TaskRequestSnapshot]> = {};
    const collect = (state: string, reqs: readonly TaskRequestSnapshot[] | undefined): void => {
      for (const r of reqs ?? []) if (wanted.has(r.id)) out[r.id] = [state, r];
    };
    collect('active', t.activeRequests?.());
    collect('reserved', t.reservedRequests?.());
    collect('scheduled', t.scheduledRequests?.().map((s) => s.request));
    return out;
  });

  registry.register('report', { kind: 'inspect', help: 'Software and platform summary for bug reports' }, (t) => ({ ok: t.report() }));

  registry.register('hello', { kind: 'inspect', hidden: true, args: [{ name: 'from_node', type: 'string' }, { name: 'revoked', type: 'json' }] }, (t, args, ctx) => helloReply(t, args, ctx.clock.forward()));
}

/**
 * Celery's mingle: a starting peer sends its revoked ids; we merge them and answer with ours in Celery's
 * LimitedSet layout, `{ id: [added-at, id] }`, the time on Python's clock (time.monotonic, which is
 * CLOCK_MONOTONIC like process.hrtime) and always a float, as Python checks.
 */
function helloReply(t: ControlTarget, args: Record<string, unknown>, clock: number): unknown {
  if (args['from_node'] === t.hostname) return null;
  const revoked = args['revoked'];
  const theirs = revoked && typeof revoked === 'object' ? (Array.isArray(revoked) ? toIds(revoked) : Object.keys(revoked)) : [];
  if (theirs.length) {
    t.revokedIds.add(theirs);
    t.revoke?.(theirs);
  }
  const monotonic = Number(process.hrtime.bigint()) / 1e9;
  const now = Date.now();
  const entries = t.revokedIds.entries().map(([id, at]) => {
    const inserted = monotonic - (now - at) / 1000;
    return [id, [Number.isInteger(inserted) ? inserted + 1e-6 : inserted, id]] as const;
  });
  return { revoked: Object.fromEntries(entries), clock };
}

export { toIds };
