/**
 * The worker's components as `Worker.start()` brings them up (Celery's bootsteps, for `celeriac graph
 * bootsteps`): in start order, each with what it needs started first, for one configured worker. Keep this in
 * step with worker.ts `start()` and `halt()` (which stops them roughly in reverse).
 */
import { maskUrl } from '../util/url.js';

export interface Bootstep {
  name: string;
  /** Celery's two blueprints: the worker's own parts, and the consumer's (what talks to the broker). */
  blueprint: 'worker' | 'consumer';
  /** Steps started before this one, that it needs. */
  requires: string[];
  /** What this worker's step is, in a few words. */
  detail: string;
}

/** What the steps depend on, read from a constructed (not necessarily started) worker. */
export interface BootPlan {
  broker: string;
  backend: string;
  pool: { name: string; concurrency: number };
  autoscale: { max: number; min: number } | undefined;
  prefetch: number;
  queues: readonly string[];
  events: { taskEvents: boolean; heartbeat: boolean; heartbeatInterval: number; gossip: boolean };
  control: { enabled: boolean; statedb: string | undefined; namespace: string };
  /** Beat runs in the worker's process (the CLI's -B). */
  beat: boolean;
}

export function bootsteps(p: BootPlan): Bootstep[] {
  const steps: Bootstep[] = [
    { name: 'Connection', blueprint: 'consumer', requires: [], detail: maskUrl(p.broker) },
    { name: 'ResultBackend', blueprint: 'consumer', requires: [], detail: maskUrl(p.backend) },
    { name: 'RateLimits', blueprint: 'worker', requires: [], detail: 'token bucket per task type' },
    { name: 'Pool', blueprint: 'worker', requires: [], detail: `${p.pool.name}, ${p.pool.concurrency} slot${p.pool.concurrency === 1 ? '' : 's'}` },
  ];
  if (p.autoscale) steps.push({ name: 'Autoscaler', blueprint: 'worker', requires: ['Pool'], detail: `max ${p.autoscale.max}, min ${p.autoscale.min}` });
  steps.push(
    { name: 'Timer', blueprint: 'worker', requires: [], detail: 'ETA and countdown tasks' },
    { name: 'Consumer', blueprint: 'worker', requires: ['Connection', 'Pool', 'Timer', 'RateLimits', ...(p.autoscale ? ['Autoscaler'] : [])], detail: `prefetch ${p.prefetch || 'unlimited'}` },
    { name: 'Events', blueprint: 'consumer', requires: ['Connection'], detail: `task events ${p.events.taskEvents ? 'on' : 'off'}` },
  );
  if (p.events.gossip) steps.push({ name: 'Gossip', blueprint: 'consumer', requires: ['Events'], detail: 'other workers, elections' });
  if (p.events.heartbeat) steps.push({ name: 'Heart', blueprint: 'consumer', requires: ['Events'], detail: `heartbeat every ${p.events.heartbeatInterval} s` });
  if (p.control.statedb) steps.push({ name: 'StateDB', blueprint: 'worker', requires: [], detail: p.control.statedb });
  if (p.control.enabled) steps.push({ name: 'Control', blueprint: 'consumer', requires: ['Connection', 'ResultBackend', 'Events', ...(p.control.statedb ? ['StateDB'] : [])], detail: `${p.control.namespace}.pidbox` });
  steps.push({ name: 'Tasks', blueprint: 'consumer', requires: ['Consumer', ...(p.control.enabled ? ['Control'] : [])], detail: p.queues.join(', ') });
  if (p.beat) steps.push({ name: 'Beat', blueprint: 'worker', requires: ['Connection', 'ResultBackend'], detail: 'periodic tasks, one leader' });
  return steps;
}
