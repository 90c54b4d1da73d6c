// Celery's auth serializer layout and the HMAC mode, with keys made by openssl for the test.
import { X509Certificate } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { SecurityError } from '../../../src/errors.js';
import { jsonCodec, msgpackCodec } from '../../../src/protocol/codecs.js';
import { certificateId, certificateVerifier, hmacKey, packSigned, rsaSigner, signedCodec, unpackSigned } from '../../../src/protocol/signing.js';
import { makeSigningPki } from '../../helpers/signing-certs.js';
import { tempDir } from '../../helpers/temp.js';

const dir = tempDir('celeriac-sign-unit-');
const pki = makeSigningPki(dir.path);
afterAll(() => dir.remove());

describe('auth serializer', () => {
  it('names a certificate as Celery does: issuer values, then the decimal serial', () => {
    const cert = new X509Certificate(pki.cert);
    expect(certificateId(cert)).toBe(`DE celeriac tests signer ${BigInt(`0x${cert.serialNumber}`).toString()}`);
  });

  it('packs signer, signature, content type, encoding and payload; the signature may contain the separator', () => {
    const signature = Buffer.from([1, 0, 1, 0, 1, 2, 3]);
    const body = packSigned({ signer: 'me 1', signature, contentType: 'application/json', contentEncoding: 'utf-8', payload: Buffer.from('[1, 2]') });
    expect(body.toString()).toMatch(/^[A-Za-z0-9+/=]+$/);
    const out = unpackSigned(body, (s) => (s === 'me 1' ? signature.length : undefined));
    expect(out).toEqual({ signer: 'me 1', signature, contentType: 'application/json', contentEncoding: 'utf-8', payload: Buffer.from('[1, 2]') });
    expect(() => unpackSigned(body, () => undefined)).toThrow(/untrusted/);
    expect(() => unpackSigned(Buffer.from('!!not base64!!'), () => 7)).toThrow(SecurityError);
    expect(() => unpackSigned(Buffer.from(Buffer.from('me 1\x00\x01abc').toString('base64')), () => 7)).toThrow(/truncated/);
  });

  it('signs and verifies with RSA-PSS; another payload or another key fails', () => {
    const signer = rsaSigner(pki.key, pki.cert);
    const verifier = certificateVerifier([pki.cert, pki.peerCert]);
    const codec = signedCodec(signer, verifier, jsonCodec, (t) => (t === 'application/json' ? jsonCodec : t === 'application/x-msgpack' ? msgpackCodec : undefined));
    const body = codec.encode([[2, 2], {}, null]);
    expect(codec.decode(body)).toEqual([[2, 2], {}, null]);
    const p = unpackSigned(body, () => 256);
    expect(() => codec.decode(packSigned({ ...p, payload: Buffer.from('[[2, 3], {}, null]') }))).toThrow(/bad signature/);
    const rogue = rsaSigner(pki.rogueKey, pki.rogueCert);
    expect(() => codec.decode(packSigned({ ...p, signature: rogue.sign(p.payload) }))).toThrow(/bad signature/);
    expect(() => codec.decode(packSigned({ ...p, contentType: 'application/x-python-serialize' }))).toThrow(/bad signature|never pickle/);
  });

  it('refuses a payload in a format it does not decode even when the signature is good', () => {
    const signer = rsaSigner(pki.key, pki.cert);
    const codec = signedCodec(signer, certificateVerifier([pki.cert]), jsonCodec, () => undefined);
    expect(() => codec.decode(codec.encode([1]))).toThrow(/never pickle/);
  });

  it('refuses keys that are not RSA, keys of another certificate, and expired certificates', () => {
    expect(() => rsaSigner(pki.peerKey, pki.cert)).toThrow(/does not belong/);
    expect(() => certificateVerifier([pki.cert], 'sha256', Date.now() + 10 * 86_400_000)).toThrow(/expired/);
    expect(() => certificateVerifier(['not a certificate'])).toThrow(SecurityError);
  });

  it('HMAC mode signs with a shared secret, timing-safe', () => {
    const a = hmacKey('secret one');
    const b = hmacKey('secret two');
    const payload = Buffer.from('{"x": 1}');
    expect(() => a.verify(a.id, payload, a.sign(payload))).not.toThrow();
    expect(() => a.verify(b.id, payload, b.sign(payload))).toThrow(/bad HMAC/);
    expect(a.signatureLength('hmac:sha256')).toBe(32);
    expect(a.signatureLength('someone else')).toBeUndefined();
  });
});
