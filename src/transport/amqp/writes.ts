/**
 * Frames leave in batches: amqplib's multiplexer hands the socket one write per frame (every publish, ack
 * and confirm-select alike), and with TCP_NODELAY each becomes a syscall and a TCP segment of its own, which
 * RabbitMQ then reads one by one. Corking the socket while the multiplexer drains its channel buffers turns
 * a round of frames into one writev (up to the socket's high-water mark, 16 KiB, then 'drain' starts the
 * next round). Nothing waits longer: the round is flushed in the same tick it was written.
 *
 * This wraps one method of amqplib's internal `Mux` (`connection.muxer._readIncoming`, amqplib pinned to an
 * exact version); if the shape is not there, nothing is changed and frames go out one by one as before.
 */
import type { ChannelModel } from 'amqplib';

interface Corkable {
  cork(): void;
  uncork(): void;
}
interface MuxShape {
  out?: Partial<Corkable>;
  _readIncoming?: () => void;
}

const PATCHED = Symbol('celeriac.coalesced');

/** Makes `model`'s connection write each round of frames with one syscall; false if amqplib's internals differ. */
export function coalesceWrites(model: ChannelModel): boolean {
  const mux = (model as unknown as { connection?: { muxer?: MuxShape & { [PATCHED]?: true } } }).connection?.muxer;
  const read = mux?._readIncoming;
  const out = mux?.out;
  if (!mux || typeof read !== 'function' || typeof out?.cork !== 'function' || typeof out.uncork !== 'function') return false;
  if (mux[PATCHED]) return true;
  const socket = out as Corkable;
  mux._readIncoming = function (this: MuxShape): void {
    socket.cork();
    try {
      read.call(this);
    } finally {
      socket.uncork();
    }
  };
  mux[PATCHED] = true;
  return true;
}
