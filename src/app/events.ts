/**
 * `app.events` (Celery's `app.events`): a receiver, a dispatcher and a cluster State on this app's broker,
 * sharing the app's Lamport clock. `app.events.receiver().on('task-succeeded', e => ...)`.
 */
import { EventDispatcher, type EventDispatcherOptions } from '../events/dispatcher.js';
import { EventReceiver, type EventReceiverOptions } from '../events/receiver.js';
import { State, type StateOptions } from '../events/state.js';
import type { Transport } from '../transport/types.js';
import type { LamportClock } from '../util/lamport.js';

export class AppEvents {
  constructor(
    private readonly connection: () => Promise<Transport>,
    private readonly clock: LamportClock,
    /** This app's sender name (`gen<pid>@<host>`), for dispatchers that name none. */
    readonly hostname: string,
    /** The app's maxMessageSize: receivers refuse bigger events. */
    private readonly maxMessageSize = 0,
    /** The app's eventOutboxLimit, for dispatchers that set none. */
    private readonly outboxLimit?: number,
  ) {}

  /** A monitor: call `start()`, add handlers, `close()` when done (the queue is deleted). */
  receiver(options: EventReceiverOptions = {}): EventReceiver {
    return new EventReceiver(this.connection, { clock: this.clock, maxMessageSize: this.maxMessageSize, ...options });
  }

  /** A dispatcher for your own events (`send('custom-thing', {...})`); every group by default. */
  dispatcher(options: Partial<EventDispatcherOptions> = {}): EventDispatcher {
    return new EventDispatcher(this.connection, { hostname: this.hostname, clock: this.clock, outboxLimit: this.outboxLimit, ...options });
  }

  /** An empty cluster state: feed it with `receiver.on('event', (e) => state.event(e))`. */
  state(options: StateOptions = {}): State {
    return new State(options);
  }
}
