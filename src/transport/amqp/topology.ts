/** Queue declaration arguments exactly as kombu sends them, so Python Celery and celeriac can declare in either order. */
import type { QueueDeclaration } from '../types.js';

/**
 * x-max-priority, x-expires and x-message-ttl, only when set (kombu declares `celery` with no arguments;
 * RabbitMQ refuses a second declaration whose arguments differ with PRECONDITION_FAILED).
 */
export function queueArguments(q: QueueDeclaration): Record<string, number> {
  const args: Record<string, number> = {};
  if (q.maxPriority !== undefined) args['x-max-priority'] = q.maxPriority;
  if (q.expires !== undefined) args['x-expires'] = q.expires;
  if (q.messageTtl !== undefined) args['x-message-ttl'] = q.messageTtl;
  return args;
}
