/** The built-in control commands (they change what the worker does), with Celery's arguments and replies. */
import { toIds, unsupported } from './inspect-commands.js';
import type { CommandRegistry } from './registry.js';
import type { ControlTarget } from './types.js';

const ok = (text: string): { ok: string } => ({ ok: text });

function num(value: unknown, fallback: number): number {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : fallback;
}

function optNum(value: unknown): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const n = num(value, NaN);
  if (Number.isNaN(n)) throw new Error(`expected a number of seconds, got ${JSON.stringify(value)}`);
  return n;
}

function isKnown(t: ControlTarget, name: unknown): name is string {
  return typeof name === 'string' && t.registeredTasks().some((r) => r.name === name);
}

/** Celery's `_revoke`: flag the ids (and terminate the running ones when asked). */
function revoke(t: ControlTarget, ids: string[], terminate: boolean, signal: string | undefined): { ok: string } {
  t.revokedIds.add(ids);
  t.revoke?.(ids, { terminate, ...(signal ? { signal } : {}) });
  if (terminate) {
    if (!t.terminateTask && !t.revoke) return ok('terminate: not supported by this worker (tasks flagged as revoked)');
    const running = new Set((t.activeRequests?.() ?? []).map((r) => r.id));
    const terminated = ids.filter((id) => running.has(id));
    if (!t.revoke) for (const id of terminated) t.terminateTask?.(id, signal);
    return ok(terminated.length ? `terminate: ${terminated.join(', ')}` : 'terminate: tasks unknown');
  }
  return ok(`tasks ${ids.join(', ')} flagged as revoked`);
}

export function registerControlCommands(registry: CommandRegistry): void {
  registry.register(
    'rate_limit',
    { kind: 'control', args: [{ name: 'task_name', type: 'string', required: true }, { name: 'rate_limit', type: 'string', required: true, help: "e.g. 10/m, 5/s, 100/h; 0 disables" }], help: "Change a task type's rate limit" },
    (t, args) => {
      if (!t.setRateLimit) return unsupported('rate_limit', t.hostname);
      if (!isKnown(t, args['task_name'])) return { error: 'unknown task' };
      const raw = args['rate_limit'];
      const rate = raw === null || raw === undefined || raw === 0 || raw === '0' || raw === '' ? null : String(raw);
      t.setRateLimit(args['task_name'], rate);
      return ok(rate ? 'new rate limit set successfully' : 'rate limit disabled successfully');
    },
  );

  registry.register(
    'time_limit',
    { kind: 'control', args: [{ name: 'task_name', type: 'string', required: true }, { name: 'soft', type: 'number' }, { name: 'hard', type: 'number' }], help: "Change a task type's soft and hard time limits (seconds)" },
    (t, args) => {
      if (!t.setTimeLimit) return unsupported('time_limit', t.hostname);
      if (!isKnown(t, args['task_name'])) return { error: 'unknown task' };
      t.setTimeLimit(args['task_name'], optNum(args['soft']), optNum(args['hard']));
      return ok('time limits set successfully');
    },
  );

  registry.register(
    'revoke',
    { kind: 'control', args: [{ name: 'task_id', type: 'string', variadic: true, required: true }], help: 'Flag task ids as revoked (they will not run); terminate=true also stops running ones' },
    (t, args) => revoke(t, toIds(args['task_id']), args['terminate'] === true, typeof args['signal'] === 'string' ? args['signal'] : undefined),
  );

  registry.register(
    'terminate',
    { kind: 'control', args: [{ name: 'signal', type: 'string', required: true, help: 'e.g. SIGTERM' }, { name: 'task_id', type: 'string', variadic: true, required: true }], help: 'Revoke and stop running tasks with a signal' },
    (t, args) => revoke(t, toIds(args['task_id']), true, typeof args['signal'] === 'string' ? args['signal'] : 'SIGTERM'),
  );

  registry.register(
    'add_consumer',
    { kind: 'control', args: [{ name: 'queue', type: 'string', required: true }, { name: 'exchange', type: 'string' }, { name: 'exchange_type', type: 'string' }, { name: 'routing_key', type: 'string' }], help: 'Start consuming from a queue' },
    async (t, args) => {
      if (!t.addConsumer) return unsupported('add_consumer', t.hostname);
      const queue = String(args['queue'] ?? '');
      if (!queue) return { error: 'add_consumer needs a queue name' };
      if (t.activeQueues().some((q) => q.name === queue)) return ok(`already consuming from ${JSON.stringify(queue)}`);
      await t.addConsumer(queue);
      return ok(`add consumer ${queue}`);
    },
  );

  registry.register('cancel_consumer', { kind: 'control', args: [{ name: 'queue', type: 'string', required: true }], help: 'Stop consuming from a queue' }, async (t, args) => {
    if (!t.cancelConsumer) return unsupported('cancel_consumer', t.hostname);
    const queue = String(args['queue'] ?? '');
    await t.cancelConsumer(queue);
    return ok(`no longer consuming from ${queue}`);
  });

  registry.register('pool_grow', { kind: 'control', args: [{ name: 'n', type: 'number' }], help: 'Add n pool slots (default 1)' }, (t, args) => {
    if (!t.poolGrow) return unsupported('pool_grow', t.hostname);
    t.poolGrow(num(args['n'], 1));
    return ok('pool will grow');
  });

  registry.register('pool_shrink', { kind: 'control', args: [{ name: 'n', type: 'number' }], help: 'Remove n pool slots (default 1)' }, (t, args) => {
    if (!t.poolShrink) return unsupported('pool_shrink', t.hostname);
    t.poolShrink(num(args['n'], 1));
    return ok('pool will shrink');
  });

  registry.register('autoscale', { kind: 'control', args: [{ name: 'max', type: 'number', required: true }, { name: 'min', type: 'number', required: true }], help: 'Change the autoscaler bounds' }, (t, args) => {
    if (!t.autoscale) return unsupported('autoscale', t.hostname);
    const max = num(args['max'], NaN);
    const min = num(args['min'], NaN);
    if (!Number.isInteger(max) || !Number.isInteger(min) || min < 0 || max < min) return { error: `autoscale expects integers max >= min >= 0, got max=${String(args['max'])} min=${String(args['min'])}` };
    t.autoscale(max, min);
    return ok(`autoscale now max=${max} min=${min}`);
  });

  registry.register('shutdown', { kind: 'control', args: [{ name: 'msg', type: 'string' }], help: 'Warm shutdown: finish running tasks, then stop' }, (t) => {
    if (!t.shutdown) return unsupported('shutdown', t.hostname);
    const stop = t.shutdown.bind(t);
    // After the reply went out: the mailbox node finishes this command before it stops.
    setImmediate(stop);
    return ok('shutting down');
  });

  registry.register('enable_events', { kind: 'control', help: 'Turn task events on' }, (t) => {
    if (!t.setEvents) return unsupported('enable_events', t.hostname);
    return ok(t.setEvents(true) ? 'task events enabled' : 'task events already enabled');
  });

  registry.register('disable_events', { kind: 'control', help: 'Turn task events off' }, (t) => {
    if (!t.setEvents) return unsupported('disable_events', t.hostname);
    return ok(t.setEvents(false) ? 'task events disabled' : 'task events already disabled');
  });

  registry.register('heartbeat', { kind: 'control', help: 'Send a worker-heartbeat event now' }, (t) => {
    if (!t.sendHeartbeat) return unsupported('heartbeat', t.hostname);
    t.sendHeartbeat();
    return null;
  });

  registry.register('election', { kind: 'control', args: [{ name: 'id', type: 'string', required: true }, { name: 'topic', type: 'string', required: true, help: "'task': the winner sends the action (a signature or a task name)" }, { name: 'action', type: 'string' }], help: 'Leader election between workers (gossip): the winner runs the topic\'s action' }, (t, args) => {
    if (!t.election) return unsupported('election', t.hostname);
    const { id, topic } = args;
    if (typeof id !== 'string' || !id || typeof topic !== 'string' || !topic) return { error: "election needs an id and a topic, e.g. election('nightly-1', 'task', { task: 'tasks.cleanup' })" };
    // Celery replies None: the outcome is decided later, between the workers, over events.
    return t.election(id, topic, args['action'] ?? null) ? null : { error: `gossip is off on ${t.hostname} (--without-gossip, or a broker without events)` };
  });
}
