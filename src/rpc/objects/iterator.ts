/**
 * A remote iterator on the proxy side (Pyro4 item streaming): each step calls get_next_stream_item on the daemon
 * object `Pyro.Daemon`; the end arrives as a StopIteration error; breaking out of a loop sends close_stream (oneway).
 */
import { RemoteError } from '../../errors.js';
import { DAEMON_NAME } from './uri.js';
import { FLAG } from './wire.js';

/** What the iterator needs of its proxy connection. */
export interface StreamSource {
  readonly connected: boolean;
  invoke(method: string, params: unknown[], kwargs: Record<string, unknown>, opts?: { objectId?: string; flags?: number }): Promise<unknown>;
}

/** A remote iterator (Pyro4 item streaming): each step is get_next_stream_item on the daemon; break closes it. */
export class RemoteIterator<T = unknown> implements AsyncIterableIterator<T> {
  private done = false;
  constructor(private readonly core: StreamSource, readonly streamId: string) {}

  async next(): Promise<IteratorResult<T>> {
    if (this.done) return { done: true, value: undefined };
    try {
      const value = (await this.core.invoke('get_next_stream_item', [this.streamId], {}, { objectId: DAEMON_NAME })) as T;
      return { done: false, value };
    } catch (err) {
      if (err instanceof RemoteError && (err.remoteType === 'StopIteration' || err.remoteType === 'GeneratorExit')) {
        this.done = true;
        return { done: true, value: undefined };
      }
      this.done = true;
      throw err;
    }
  }

  /** Stops early: tells the daemon to drop the stream (close_stream, oneway). */
  async return(): Promise<IteratorResult<T>> {
    if (!this.done && this.core.connected) {
      this.done = true;
      await this.core.invoke('close_stream', [this.streamId], {}, { objectId: DAEMON_NAME, flags: FLAG.ONEWAY }).catch(() => undefined);
    }
    this.done = true;
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
