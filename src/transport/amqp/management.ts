/**
 * Queues from RabbitMQ's management HTTP API (AMQP 0-9-1 itself cannot list queues). Undefined when the
 * plug-in is not enabled or not reachable; the caller then lists the queues it knows. Reading queues this
 * way does not touch them: a passive queue.declare would renew an `x-expires` queue's lease.
 */
import type { AmqpEndpoint } from './url.js';

export interface ListedQueue {
  name: string;
  /** Ready messages as the management plug-in last sampled them (undefined before its first sample). */
  messages: number | undefined;
  consumers: number | undefined;
}

export async function listQueuesOverHttp(baseUrl: string, endpoint: AmqpEndpoint): Promise<ListedQueue[] | undefined> {
  const auth = Buffer.from(`${endpoint.username}:${endpoint.password}`).toString('base64');
  try {
    const res = await fetch(`${baseUrl.replace(/\/$/, '')}/api/queues/${encodeURIComponent(endpoint.vhost)}?columns=name,messages_ready,consumers`, {
      headers: { authorization: `Basic ${auth}` },
      signal: AbortSignal.timeout(3000),
    });
    if (!res.ok) return undefined;
    const body: unknown = await res.json();
    if (!Array.isArray(body)) return undefined;
    return body
      .map((q: { name?: unknown; messages_ready?: unknown; consumers?: unknown }) => ({
        name: String(q.name ?? ''),
        messages: typeof q.messages_ready === 'number' ? q.messages_ready : undefined,
        consumers: typeof q.consumers === 'number' ? q.consumers : undefined,
      }))
      .filter((q) => q.name !== '');
  } catch {
    return undefined;
  }
}
