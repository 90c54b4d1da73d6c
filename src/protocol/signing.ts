/**
 * Message signing: Celery's 'auth' serializer (celery/security/serialization.py), byte for byte, and an HMAC
 * mode of celeriac's own on the same layout. No I/O: keys and certificates come in as PEM text.
 *
 *   message   content type application/data, content encoding utf-8
 *   body      base64( signer ␀␁ signature ␀␁ content_type ␀␁ content_encoding ␀␁ payload )      (␀␁ = bytes 00 01)
 *     signer            the signing certificate's id: its issuer's attribute values joined by ' ', a space, and
 *                       its serial number in decimal (Celery's Certificate.get_id)
 *     signature         RSA-PSS over `payload`, MGF1 with the digest (sha256 by default), salt length the maximum;
 *                       exactly key size / 8 bytes (it may contain ␀␁: the length comes from the signer's certificate)
 *     content_type/_encoding   of the payload: application/json + utf-8 (Celery's security_serializer json)
 *     payload           the message body serialized by that serializer: what is signed (never decoded unverified)
 *   HMAC mode           signer 'hmac:<digest>', signature HMAC-<digest>(shared secret, payload); a Celery peer
 *                       refuses it (no such certificate)
 *
 * As in Celery, the signature covers the body (args, kwargs, embed; a control request or reply), not the
 * headers: the task name and id travel beside it.
 */
import { createHmac, createPrivateKey, sign as rsaSign, timingSafeEqual, verify as rsaVerify, X509Certificate, constants, type KeyObject } from 'node:crypto';
import { SecurityError } from '../errors.js';
import { SIGNED_CONTENT_TYPE, type Codec } from './codecs.js';

const SEP = Buffer.from([0x00, 0x01]);
const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING };

export interface Signer {
  /** What goes in the signer field. */
  readonly id: string;
  sign(payload: Buffer): Buffer;
}

export interface Verifier {
  /** Byte length of the signatures `signer` makes, or undefined when `signer` is not trusted. */
  signatureLength(signer: string): number | undefined;
  /** Throws SecurityError unless `signature` is `signer`'s over `payload`. */
  verify(signer: string, payload: Buffer, signature: Buffer): void;
}

export interface SignedPayload {
  signer: string;
  signature: Buffer;
  contentType: string;
  contentEncoding: string;
  payload: Buffer;
}

/** Celery's Certificate.get_id: issuer attribute values joined by spaces, then the decimal serial number. */
export function certificateId(cert: X509Certificate): string {
  const values = cert.issuer.split('\n').map((rdn) => rdn.slice(rdn.indexOf('=') + 1));
  return `${values.join(' ')} ${BigInt(`0x${cert.serialNumber}`).toString(10)}`;
}

/** The body of a signed message (base64 text, as Celery's b64encode makes it). */
export function packSigned(p: SignedPayload): Buffer {
  const fields = Buffer.concat([Buffer.from(p.signer, 'utf8'), SEP, p.signature, SEP, Buffer.from(p.contentType, 'utf8'), SEP, Buffer.from(p.contentEncoding, 'utf8'), SEP, p.payload]);
  return Buffer.from(fields.toString('base64'), 'ascii');
}

/** Splits a signed body; the signature's length comes from the (trusted) signer. Throws SecurityError. */
export function unpackSigned(body: Buffer, signatureLength: (signer: string) => number | undefined): SignedPayload {
  const text = body.toString('ascii').trim();
  if (!/^[A-Za-z0-9+/=\r\n]*$/.test(text)) throw new SecurityError('signed message body is not base64: not a message signed by the auth serializer');
  const raw = Buffer.from(text, 'base64');
  const first = raw.indexOf(SEP);
  if (first <= 0) throw new SecurityError('signed message has no signer field');
  const signer = raw.subarray(0, first).toString('utf8');
  const length = signatureLength(signer);
  if (length === undefined) throw new SecurityError(`message signed by an untrusted certificate or key '${signer.slice(0, 200)}': add its certificate to securityCertStore`);
  const start = first + SEP.length;
  const end = start + length;
  if (raw.length < end + SEP.length || !raw.subarray(end, end + SEP.length).equals(SEP)) throw new SecurityError(`signed message from '${signer.slice(0, 200)}' is truncated or its signature has the wrong length`);
  const rest = raw.subarray(end + SEP.length);
  const a = rest.indexOf(SEP);
  const b = a < 0 ? -1 : rest.indexOf(SEP, a + SEP.length);
  if (a < 0 || b < 0) throw new SecurityError(`signed message from '${signer.slice(0, 200)}' lacks its content type, encoding or payload`);
  return {
    signer,
    signature: raw.subarray(start, end),
    contentType: rest.subarray(0, a).toString('utf8'),
    contentEncoding: rest.subarray(a + SEP.length, b).toString('utf8'),
    payload: rest.subarray(b + SEP.length),
  };
}

/** Signs with an RSA private key as the holder of `certificate` (PEM both; the key may be encrypted). */
export function rsaSigner(keyPem: string, certificatePem: string, digest = 'sha256', password?: string): Signer {
  let key: KeyObject;
  let cert: X509Certificate;
  try {
    key = createPrivateKey(password === undefined ? keyPem : { key: keyPem, passphrase: password });
    cert = new X509Certificate(certificatePem);
  } catch (cause) {
    throw new SecurityError(`securityKey / securityCertificate: ${(cause as Error).message}`, { cause });
  }
  if (key.asymmetricKeyType !== 'rsa') throw new SecurityError(`securityKey is a ${String(key.asymmetricKeyType)} key: Celery's auth serializer signs with RSA keys only`);
  if (!cert.checkPrivateKey(key)) throw new SecurityError('securityKey does not belong to securityCertificate: use the key the certificate was made for');
  const id = certificateId(cert);
  return { id, sign: (payload) => rsaSign(digest, payload, { key, ...PSS, saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN }) };
}

/** Trusts the certificates given (PEM each; Celery's FSCertStore refuses expired ones, so does this). */
export function certificateVerifier(certificatePems: readonly string[], digest = 'sha256', now = Date.now()): Verifier {
  const certs = new Map<string, X509Certificate>();
  for (const pem of certificatePems) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch (cause) {
      throw new SecurityError(`securityCertStore: not a PEM certificate: ${(cause as Error).message}`, { cause });
    }
    const id = certificateId(cert);
    if (Date.parse(cert.validTo) <= now) throw new SecurityError(`securityCertStore: certificate '${id}' expired on ${cert.validTo}`);
    if (certs.has(id)) throw new SecurityError(`securityCertStore: duplicate certificate '${id}'`);
    certs.set(id, cert);
  }
  return {
    signatureLength: (signer) => {
      const details = certs.get(signer)?.publicKey.asymmetricKeyDetails;
      return details?.modulusLength ? details.modulusLength >> 3 : undefined;
    },
    verify: (signer, payload, signature) => {
      const cert = certs.get(signer);
      const ok = cert !== undefined && rsaVerify(digest, payload, { key: cert.publicKey, ...PSS, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, signature);
      if (!ok) throw new SecurityError(`bad signature from '${signer.slice(0, 200)}': the message was tampered with, or signed with another key`);
    },
  };
}

/** HMAC mode: signs and verifies with one shared secret. */
export function hmacKey(secret: string | Buffer, digest = 'sha256'): Signer & Verifier {
  if (!secret.length) throw new SecurityError('securityHmacKey is empty: use a long random secret');
  const id = `hmac:${digest}`;
  const mac = (payload: Buffer): Buffer => createHmac(digest, secret).update(payload).digest();
  const length = mac(Buffer.alloc(0)).length;
  return {
    id,
    sign: mac,
    signatureLength: (signer) => (signer === id ? length : undefined),
    verify: (signer, payload, signature) => {
      if (signer !== id || signature.length !== length || !timingSafeEqual(mac(payload), signature)) throw new SecurityError('bad HMAC signature: the message was tampered with, or signed with another securityHmacKey');
    },
  };
}

/**
 * The 'auth' codec: encodes with `inner` and signs; decodes only what verifies, with the payload's own codec
 * (`innerFor`, json or msgpack; never pickle, even though Celery would load it).
 */
export function signedCodec(signer: Signer, verifier: Verifier, inner: Codec, innerFor: (contentType: string) => Codec | undefined): Codec {
  return {
    name: 'auth',
    contentType: SIGNED_CONTENT_TYPE,
    contentEncoding: 'utf-8',
    bytesPerLevel: inner.bytesPerLevel ?? 1,
    encode(value) {
      const payload = inner.encode(value);
      return packSigned({ signer: signer.id, signature: signer.sign(payload), contentType: inner.contentType, contentEncoding: inner.contentEncoding, payload });
    },
    decode(body) {
      const p = unpackSigned(body, (s) => verifier.signatureLength(s));
      verifier.verify(p.signer, p.payload, p.signature);
      const codec = innerFor(p.contentType);
      if (!codec) throw new SecurityError(`signed message from '${p.signer.slice(0, 200)}' carries content type '${p.contentType.slice(0, 80)}': only json and msgpack are decoded (never pickle)`);
      try {
        return codec.decode(p.payload);
      } catch (cause) {
        throw new SecurityError(`signed message from '${p.signer.slice(0, 200)}' is not valid ${codec.name}: ${(cause as Error).message}`, { cause });
      }
    },
  };
}
