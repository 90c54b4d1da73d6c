/**
 * task-sent events (Celery's task_send_sent_event): a producer with `taskSendSentEvent` publishes one per
 * task it sends, with the fields Celery's send_task_message adds (queue, exchange, routing_key), from the
 * message it just built. The dispatcher is the app's, opened on the first send and closed with the app.
 */
import { EventDispatcher } from '../events/dispatcher.js';
import type { TaskSentFields } from '../protocol/events.js';
import type { Transport } from '../transport/types.js';
import type { LamportClock } from '../util/lamport.js';
import type { PreparedTask } from './producer.js';

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The task-sent fields of a prepared task message. */
export function taskSentFields(prepared: PreparedTask): TaskSentFields {
  const h = prepared.message.headers;
  return {
    uuid: prepared.id,
    root_id: str(h['root_id']),
    parent_id: str(h['parent_id']),
    name: String(h['task']),
    args: str(h['argsrepr']) ?? '()',
    kwargs: str(h['kwargsrepr']) ?? '{}',
    retries: typeof h['retries'] === 'number' ? h['retries'] : 0,
    eta: str(h['eta']),
    expires: str(h['expires']),
    queue: prepared.route.queue,
    exchange: prepared.route.exchange,
    routing_key: prepared.route.routingKey,
  };
}

/** The app's task-sent sender: `send(prepared)` after each publish; `close()` flushes. */
export class SentEvents {
  private dispatcher: EventDispatcher | undefined;

  constructor(
    private readonly connection: () => Promise<Transport>,
    private readonly hostname: string,
    private readonly clock: LamportClock,
    private readonly onError: (error: Error) => void = () => undefined,
    private readonly outboxLimit?: number,
  ) {}

  send(prepared: PreparedTask): void {
    this.dispatcher ??= new EventDispatcher(this.connection, { hostname: this.hostname, clock: this.clock, onError: this.onError, outboxLimit: this.outboxLimit });
    this.dispatcher.send('task-sent', taskSentFields(prepared));
  }

  async close(): Promise<void> {
    const d = this.dispatcher;
    this.dispatcher = undefined;
    await d?.close();
  }
}
