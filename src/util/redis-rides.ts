/**
 * Result writes that ride the broker's claim. When a worker's redis:// broker and result backend are one Redis
 * server, the backend hands its result writes to the broker's consuming connection, whose claim script stores
 * them (in the backend's database, by SELECT inside the script), acks, and claims more in one call: one
 * socket write per freed slot instead of two. Neither plug-in may import the other, so they meet here.
 *
 *   backend (result-writes.ts)   findCarrier(server) → carrier.carry({ lua, db, writes }) or write itself
 *   broker (transport store)     addCarrier(server, carrier) while it consumes; writes what it was given
 *                                with its next claim, or alone right after the current tick
 *
 * The writes keep Celery's layout exactly: the backend's own store script (`lua`, with KEYS[1] the result
 * key and ARGV meta, status, expiry ms) runs on the backend's database; the PUBLISH on the key's channel is
 * database-independent, so a Python client sees the same key, expiry and message.
 */
import type { RedisOptions } from 'ioredis';

/** KEYS[1] the result key; ARGV: meta JSON, status, expiry in ms (0: forever). */
export type RiddenArgs = [key: string, meta: string, status: string, ttlMs: number];

export interface RiddenWrite {
  args: RiddenArgs;
  /** With the store script's answer: 1 stored and published, 0 the stored state was kept. */
  resolve: (stored: number) => void;
  reject: (error: unknown) => void;
}

export interface RideRequest {
  /** The store script, run once per write with KEYS = [key], ARGV = [meta, status, ttlMs]; returns a number. */
  lua: string;
  /** The database the results live in. */
  db: number;
  writes: RiddenWrite[];
}

export interface RideCarrier {
  /** Takes the writes (settling each later) or returns false: the caller writes them itself. */
  carry(request: RideRequest): boolean;
}

const carriers = new Map<string, Set<RideCarrier>>();

/** Which server a connection reaches, with whose credentials and how (databases left out). In memory only. */
export function serverKey(o: RedisOptions): string {
  const where = o.path ? `unix:${o.path}` : `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`;
  return JSON.stringify([where, o.username ?? '', o.password ?? '', o.tls ? 'tls' : '']);
}

/** Offers a consuming broker connection to carry result writes; the returned function withdraws it. */
export function addCarrier(server: string, carrier: RideCarrier): () => void {
  let set = carriers.get(server);
  if (!set) carriers.set(server, (set = new Set()));
  set.add(carrier);
  return () => {
    set.delete(carrier);
    if (set.size === 0 && carriers.get(server) === set) carriers.delete(server);
  };
}

/** A carrier for this server, if a broker connection of this process consumes from it. */
export function findCarrier(server: string): RideCarrier | undefined {
  const set = carriers.get(server);
  if (!set) return undefined;
  for (const c of set) return c;
  return undefined;
}
