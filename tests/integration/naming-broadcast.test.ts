// Name server discovery over UDP (Pyro4's GET_NSURI protocol): celeriac's responder answers celeriac's
// discovery and a directed datagram; the sandbox allows broadcasts to 255.255.255.255 and to 0.0.0.0, which
// are tried too (each test binds its responder on a free port, never 9091).
import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { NamingError } from '../../src/errors.js';
import { discoverNameServer, startBroadcastResponder } from '../../src/rpc/naming/broadcast.js';

/** Sends one datagram and resolves with the first answer (or undefined after `timeout` ms). */
async function ask(port: number, payload: string, timeout = 1_000): Promise<string | undefined> {
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeout);
      socket.once('message', (data) => {
        clearTimeout(timer);
        resolve(data.toString('latin1'));
      });
      socket.send(payload, port, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

describe('name server broadcast responder', () => {
  it('answers a directed GET_NSURI datagram with the URI and ignores anything else', async () => {
    const uri = 'PYRO:Pyro.NameServer@127.0.0.1:40001';
    const responder = await startBroadcastResponder({ uri, port: 0 });
    try {
      expect(await ask(responder.address.port, 'GET_NSURI')).toBe(uri);
      expect(await ask(responder.address.port, 'HELLO', 300)).toBeUndefined();
      // Still answering after the junk.
      expect(await ask(responder.address.port, 'GET_NSURI')).toBe(uri);
    } finally {
      await responder.close();
    }
  });

  it('replaces 0.0.0.0 with the address of the interface that reaches the asker', async () => {
    const responder = await startBroadcastResponder({ uri: 'PYRO:Pyro.NameServer@0.0.0.0:40002', port: 0 });
    try {
      expect(await ask(responder.address.port, 'GET_NSURI')).toBe('PYRO:Pyro.NameServer@127.0.0.1:40002');
    } finally {
      await responder.close();
    }
  });

  it('discoverNameServer finds it by broadcast (255.255.255.255, 0.0.0.0) and by a directed address', async () => {
    const uri = 'PYRO:Pyro.NameServer@127.0.0.1:40003';
    const responder = await startBroadcastResponder({ uri, port: 0 });
    try {
      const port = responder.address.port;
      expect(await discoverNameServer({ port })).toBe(uri);
      expect(await discoverNameServer({ port, addresses: ['255.255.255.255'], attempts: 1 })).toBe(uri);
      expect(await discoverNameServer({ port, addresses: ['127.0.0.1'], attempts: 1 })).toBe(uri);
    } finally {
      await responder.close();
    }
  });

  it('discovery fails with a NamingError that says what to do when nobody answers', async () => {
    const responder = await startBroadcastResponder({ uri: 'PYRO:x@127.0.0.1:1', port: 0 });
    const port = responder.address.port;
    await responder.close(); // a port nobody listens on any more
    const err = await discoverNameServer({ port, addresses: ['127.0.0.1'], attempts: 2, timeout: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NamingError);
    expect((err as Error).message).toMatch(/celeriac ns --broadcast/);
  });
});
