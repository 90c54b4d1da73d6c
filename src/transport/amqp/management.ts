/**
 * Queue names from RabbitMQ's management HTTP API (AMQP 0-9-1 itself cannot list queues). Undefined when
 * the plug-in is not enabled or not reachable; the caller then lists the queues it knows.
 */
import type { AmqpEndpoint } from './url.js';

export async function listQueueNames(baseUrl: string, endpoint: AmqpEndpoint): Promise<string[] | undefined> {
  const auth = Buffer.from(`${endpoint.username}:${endpoint.password}`).toString('base64');
  try {
    const res = await fetch(`${baseUrl.replace(/\/$/, '')}/api/queues/${encodeURIComponent(endpoint.vhost)}?columns=name`, {
      headers: { authorization: `Basic ${auth}` },
      signal: AbortSignal.timeout(3000),
    });
    if (!res.ok) return undefined;
    const body: unknown = await res.json();
    if (!Array.isArray(body)) return undefined;
    return body.map((q: { name?: unknown }) => String(q.name)).filter((n) => n !== '');
  } catch {
    return undefined;
  }
}
