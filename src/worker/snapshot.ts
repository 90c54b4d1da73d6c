/**
 * What inspect replies show of a request: Celery's Request.info() dict (id, name, args, kwargs, type,
 * hostname, time_start, acknowledged, delivery_info, worker_pid), built from the worker's own request.
 */
import type { TaskRequestSnapshot } from '../control/types.js';
import type { Request } from './state.js';

export type { TaskRequestSnapshot };

export function snapshot(request: Request, hostname: string, workerPid: number | null): TaskRequestSnapshot {
  const { task, delivery } = request;
  const priority = delivery.message.properties.priority;
  return {
    id: task.id,
    name: task.name,
    args: task.args,
    kwargs: task.kwargs,
    type: task.name,
    hostname,
    time_start: request.startedAt === undefined ? null : request.startedAt / 1000,
    acknowledged: request.acked,
    delivery_info: { exchange: delivery.exchange, routing_key: delivery.routingKey, priority: typeof priority === 'number' ? priority : null, redelivered: delivery.redelivered },
    worker_pid: request.startedAt === undefined ? null : workerPid,
  };
}
