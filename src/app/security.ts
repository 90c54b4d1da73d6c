/**
 * Message signing for an app (Celery's `app.setup_security()`): with taskSerializer 'auth', the signing key
 * and certificate and the trusted certificates are read from the security options (PEM files or text), the
 * 'auth' codec is registered, and every task and control message must then be signed to be decoded.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Config } from '../config/options.js';
import { ConfigError } from '../errors.js';
import type { Codec, CodecRegistry } from '../protocol/codecs.js';
import { certificateVerifier, hmacKey, rsaSigner, signedCodec, type Signer, type Verifier } from '../protocol/signing.js';
import { globToRegExp, isGlob } from '../util/glob.js';

const SETTINGS_MISSING =
  "taskSerializer 'auth' signs messages: set securityKey, securityCertificate and securityCertStore (Celery's security_key, " +
  'security_certificate, security_cert_store), or securityHmacKey for HMAC between celeriac apps';

/** PEM text given inline, or read from the file it names. */
function pem(option: string, value: string): string {
  if (value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (cause) {
    throw new ConfigError(`${option}: cannot read ${value}: ${(cause as Error).message}`, { cause });
  }
}

/** The files of a cert store: a directory (every file in it), a glob (Celery's glob.glob), or one file. */
function storeFiles(path: string): string[] {
  const isDir = statSync(path, { throwIfNoEntry: false })?.isDirectory();
  if (isDir) return readdirSync(path).sort().map((f) => join(path, f)).filter((f) => statSync(f).isFile());
  if (!isGlob(basename(path))) return [path];
  const re = globToRegExp(basename(path));
  const dir = dirname(path);
  return readdirSync(dir).filter((f) => re.test(f)).sort().map((f) => join(dir, f));
}

/** Every certificate in the store (a file may hold several). */
function storeCertificates(path: string): string[] {
  const certs = storeFiles(path).flatMap((f) => pem('securityCertStore', f).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []);
  if (!certs.length) throw new ConfigError(`securityCertStore: no certificate found at ${path} (a directory, a file, or a glob of PEM files)`);
  return certs;
}

/** Registers the 'auth' codec when taskSerializer is 'auth' and makes `codecs` accept signed messages only. */
export function setupSecurity(conf: Config, codecs: CodecRegistry): Codec | undefined {
  if (conf.taskSerializer !== 'auth') return undefined;
  let signer: Signer;
  let verifier: Verifier;
  if (conf.securityHmacKey) {
    signer = verifier = hmacKey(conf.securityHmacKey, conf.securityDigest);
  } else {
    if (!conf.securityKey || !conf.securityCertificate || !conf.securityCertStore) throw new ConfigError(SETTINGS_MISSING);
    signer = rsaSigner(pem('securityKey', conf.securityKey), pem('securityCertificate', conf.securityCertificate), conf.securityDigest, conf.securityKeyPassword ?? undefined);
    verifier = certificateVerifier(storeCertificates(conf.securityCertStore), conf.securityDigest);
  }
  const inner = codecs.byNameOrThrow(conf.securitySerializer);
  const plain = new Map(['json', 'msgpack'].map((name) => {
    const c = codecs.byNameOrThrow(name);
    return [c.contentType, c] as const;
  }));
  const codec = signedCodec(signer, verifier, inner, (type) => plain.get(type.split(';')[0]?.trim().toLowerCase() ?? ''));
  codecs.register(codec);
  codecs.signedOnly = true;
  return codec;
}
