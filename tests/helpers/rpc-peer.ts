// A raw TCP peer of a celeriac direct RPC server: writes whatever bytes a test gives it and records the frames
// the server sends back, until the server closes the connection.
import { connect, type Socket } from 'node:net';
import { FrameReader, type Frame } from '../../src/rpc/framing.js';

export interface RawPeer {
  socket: Socket;
  /** Every frame received so far. */
  frames: Frame[];
  /** Resolves with every frame received once the connection closed. */
  closed: Promise<Frame[]>;
}

export function rawPeer(url: string): RawPeer {
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  const reader = new FrameReader();
  const frames: Frame[] = [];
  socket.on('data', (chunk: Buffer) => frames.push(...reader.push(chunk)));
  socket.on('error', () => undefined);
  const closed = new Promise<Frame[]>((resolve) => socket.on('close', () => resolve(frames)));
  return { socket, frames, closed };
}
