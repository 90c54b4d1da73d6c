/**
 * Result writes (the store-result script, ./store-result.ts) gathered per tick: one write goes alone, several
 * go as one pipeline, and a batch never waits for the one before it. ioredis's auto-pipelining would make a
 * pipeline object even for one command, and sends a tick's commands only once the previous pipeline has
 * answered, so a worker's slots move in lock step with the round trip; here the next batch overlaps it.
 * Commands on one connection still run in the order sent.
 *
 * When the broker is the same Redis server and consumes in this process, a batch rides its next claim
 * instead (util/redis-rides.ts): stored, acked and claimed in one call.
 */
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../../util/redis.js';
import { findCarrier, type RiddenArgs } from '../../util/redis-rides.js';
import { STORE_RESULT_LUA } from './store-result.js';

/** The custom command (defineCommand) this batcher sends; left out of the client's auto-pipelining. */
export const STORE_RESULT_COMMAND = 'celeriacStoreResult';

/** KEYS[1] the result key; ARGV: meta JSON, status, expiry in ms (0: forever). */
export type StoreResultArgs = RiddenArgs;

type StoreCommand = (...args: StoreResultArgs) => Promise<number>;
export type StoringClient = RedisClient & Record<typeof STORE_RESULT_COMMAND, StoreCommand>;
type StoringPipeline = ChainableCommander & Record<typeof STORE_RESULT_COMMAND, (...args: StoreResultArgs) => ChainableCommander>;

interface PendingWrite {
  args: StoreResultArgs;
  resolve: (stored: number) => void;
  reject: (error: unknown) => void;
}

export class ResultWrites {
  private batch: PendingWrite[] | undefined;

  /** `ride`: the server key (util/redis-rides.ts) and database of the results, to ride a broker's claim. */
  constructor(
    private readonly client: StoringClient,
    private readonly ride?: { server: string; db: number },
  ) {}

  /** Resolves with the script's answer: 1 when stored and published, 0 when the stored state was kept. */
  store(args: StoreResultArgs): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      if (!this.batch) {
        this.batch = [];
        process.nextTick(() => this.flush());
      }
      this.batch.push({ args, resolve, reject });
    });
  }

  private flush(): void {
    const batch = this.batch ?? [];
    this.batch = undefined;
    const carrier = this.ride && findCarrier(this.ride.server);
    if (carrier?.carry({ lua: STORE_RESULT_LUA, db: this.ride?.db ?? 0, writes: batch })) return;
    if (batch.length === 1) {
      const only = batch[0] as PendingWrite;
      this.client[STORE_RESULT_COMMAND](...only.args).then(only.resolve, only.reject);
      return;
    }
    const pipe = this.client.pipeline() as StoringPipeline;
    for (const w of batch) pipe[STORE_RESULT_COMMAND](...w.args);
    pipe.exec().then(
      (replies) => {
        batch.forEach((w, i) => {
          const [error, value] = replies?.[i] ?? [new Error('no reply from Redis for a pipelined result write'), null];
          if (error) w.reject(error);
          else w.resolve(Number(value));
        });
      },
      (error: unknown) => {
        for (const w of batch) w.reject(error);
      },
    );
  }
}
