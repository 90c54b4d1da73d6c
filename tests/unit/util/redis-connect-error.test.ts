// The first-connect error of a Redis broker or result store names what to check for each kind of failure.
import { describe, expect, it } from 'vitest';
import { connectError, type RedisRole } from '../../../src/util/redis.js';

const role: RedisRole = { label: 'Redis broker', error: (message) => new Error(message) };
const url = 'rediss://:secret@127.0.0.1:6380/0';

describe('connectError', () => {
  it('a server that asks for a client certificate says to give ssl_certfile and ssl_keyfile', () => {
    const e = connectError(url, new Error('140: error:0A00045C:SSL routines::tlsv13 alert certificate required: SSL alert number 116'), role);
    expect(e.message).toMatch(/asks clients for a certificate .*ssl_certfile and ssl_keyfile/);
    expect(e.message).not.toContain('secret');
  });

  it('an untrusted server certificate says to give its CA', () => {
    expect(connectError(url, new Error('self-signed certificate in certificate chain'), role).message).toMatch(/ssl_ca_certs/);
  });

  it('a reset connection on rediss:// lists the TLS settings to check', () => {
    expect(connectError(url, new Error('read ECONNRESET'), role).message).toMatch(/ssl_certfile and ssl_keyfile are given/);
  });
});
