/**
 * A daemon's remote iterators (Pyro4 item streaming): a call that returns a generator or iterator leaves it here
 * under a stream id; the client pulls items with get_next_stream_item and drops it with close_stream. When the
 * client's connection goes, its streams linger (Pyro4's ITER_STREAM_LINGER) so a reconnecting proxy can go on.
 */
import { randomUUID } from 'node:crypto';
import { PythonException } from './exceptions.js';

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

interface Stream {
  owner: object | null;
  iterator: AnyIterator;
  created: number;
  linger: NodeJS.Timeout | undefined;
}

/** True for what Pyro streams: generators and iterators (not arrays, strings, maps or sets, which are data). */
export function isStream(value: unknown): value is Iterable<unknown> | AsyncIterable<unknown> {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<symbol | string, unknown>;
  if (typeof v[Symbol.asyncIterator] === 'function') return true;
  return typeof v['next'] === 'function' && typeof v[Symbol.iterator] === 'function';
}

export class StreamTable {
  private readonly streams = new Map<string, Stream>();

  /** `linger`: ms a stream outlives its client's connection; `lifetime`: ms it may live at all (0 = no limit). */
  constructor(private readonly linger: number, private readonly lifetime: number) {}

  get size(): number {
    return this.streams.size;
  }

  add(owner: object, value: Iterable<unknown> | AsyncIterable<unknown>): string {
    const iterator = Symbol.asyncIterator in value ? value[Symbol.asyncIterator]() : value[Symbol.iterator]();
    const id = randomUUID();
    this.streams.set(id, { owner, iterator, created: Date.now(), linger: undefined });
    return id;
  }

  /** The next item; StopIteration (as Pyro4 raises it) at the end. Errors and the end remove the stream. */
  async next(id: string, owner: object): Promise<unknown> {
    const s = this.streams.get(id);
    if (!s || (this.lifetime > 0 && Date.now() - s.created > this.lifetime)) {
      if (s) this.close(id);
      throw new PythonException('Pyro4.errors.PyroError', 'item stream terminated');
    }
    if (s.owner !== owner) {
      if (s.linger) clearTimeout(s.linger);
      s.linger = undefined;
      s.owner = owner;
    }
    let r: IteratorResult<unknown>;
    try {
      r = await s.iterator.next();
    } catch (err) {
      this.streams.delete(id);
      throw err;
    }
    if (r.done) {
      this.streams.delete(id);
      throw new PythonException('builtins.StopIteration', '');
    }
    return r.value;
  }

  close(id: string): void {
    const s = this.streams.get(id);
    if (!s) return;
    this.streams.delete(id);
    if (s.linger) clearTimeout(s.linger);
    void Promise.resolve()
      .then(() => s.iterator.return?.())
      .catch(() => undefined);
  }

  /** The owner's connection is gone: its streams linger, then close. */
  ownerGone(owner: object): void {
    for (const [id, s] of this.streams) {
      if (s.owner !== owner) continue;
      s.owner = null;
      if (this.linger <= 0) this.close(id);
      else {
        s.linger = setTimeout(() => this.close(id), this.linger);
        s.linger.unref();
      }
    }
  }

  clear(): void {
    for (const id of [...this.streams.keys()]) this.close(id);
  }
}
