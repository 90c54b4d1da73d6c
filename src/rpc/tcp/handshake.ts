/**
 * The opening of a direct RPC connection, and the shared-secret proof (HMAC-SHA256 challenge-response in
 * both directions). Pure: nonces are parameters, no socket.
 *
 *   server                                   client
 *     │── HELLO {protocol:1, auth, nonce: Ns} ─►│   auth=false: the connection is open (the client has no secret)
 *     │◄── AUTH {nonce: Nc, proof: Pc} ─────────│   Pc = HMAC(secret, "celeriac-rpc/1 client" 0 Ns Nc)
 *     │── WELCOME {proof: Ps} ─────────────────►│   Ps = HMAC(secret, "celeriac-rpc/1 server" 0 Ns Nc)
 *
 * Each side checks the other's proof with a constant-time compare and answers a wrong one with GOAWAY
 * (code E_RPC_AUTH) and a closed connection. The labels differ, so a proof cannot be reflected back; fresh
 * random nonces on both sides make a recorded proof useless on the next connection.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { FrameError } from '../../errors.js';

export const PROTOCOL = 1;
export const NONCE_BYTES = 32;

export interface Hello {
  protocol: number;
  auth: boolean;
  nonce?: string;
}

export interface Proof {
  nonce?: string;
  proof: string;
}

/** The proof that `role` knows the secret, bound to both nonces of this connection. */
export function proofOf(secret: Buffer, role: 'client' | 'server', serverNonce: Buffer, clientNonce: Buffer): Buffer {
  return createHmac('sha256', secret)
    .update(`celeriac-rpc/${PROTOCOL} ${role}\0`)
    .update(serverNonce)
    .update(clientNonce)
    .digest();
}

/** Constant-time check of a proof received as base64 (anything else is simply wrong). */
export function proofMatches(expected: Buffer, received: unknown): boolean {
  if (typeof received !== 'string') return false;
  const got = Buffer.from(received, 'base64');
  if (got.length !== expected.length) return false;
  return timingSafeEqual(got, expected);
}

export function secretBuffer(secret: string | Buffer | undefined): Buffer | undefined {
  if (secret === undefined) return undefined;
  const buf = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  return buf.length === 0 ? undefined : buf;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function toHello(value: unknown): Hello {
  if (!isObject(value) || typeof value.protocol !== 'number' || typeof value.auth !== 'boolean') {
    throw new FrameError('the server greeted with an unreadable HELLO: is it a celeriac server?');
  }
  if (value.protocol !== PROTOCOL) {
    throw new FrameError(`the server speaks direct RPC protocol ${value.protocol}, this client ${PROTOCOL}: upgrade the older side`);
  }
  const hello: Hello = { protocol: value.protocol, auth: value.auth };
  if (typeof value.nonce === 'string') hello.nonce = value.nonce;
  if (hello.auth && nonceOf(hello.nonce) === undefined) throw new FrameError('the server asked for a shared secret without a valid nonce');
  return hello;
}

export function toProof(value: unknown): Proof {
  if (!isObject(value) || typeof value.proof !== 'string') return { proof: '' };
  const proof: Proof = { proof: value.proof };
  if (typeof value.nonce === 'string') proof.nonce = value.nonce;
  return proof;
}

/** A base64 nonce of the right size, or undefined. */
export function nonceOf(value: unknown): Buffer | undefined {
  if (typeof value !== 'string') return undefined;
  const buf = Buffer.from(value, 'base64');
  return buf.length === NONCE_BYTES ? buf : undefined;
}
