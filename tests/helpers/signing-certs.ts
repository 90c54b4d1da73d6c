// RSA keys and self-signed certificates for message signing (Celery's auth serializer), made with openssl at test
// time: the signer (a multi-attribute issuer, as real certificates have), a second trusted peer, and a rogue signer
// whose certificate is not in the store. `store` is a directory holding the trusted certificates only.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SigningPki {
  key: string;
  cert: string;
  peerKey: string;
  peerCert: string;
  rogueKey: string;
  rogueCert: string;
  /** Directory with cert and peerCert (PEM files). */
  store: string;
  /** Paths of the files above, for options that take paths. */
  files: { key: string; cert: string; peerKey: string; peerCert: string; rogueKey: string; rogueCert: string };
}

function selfSigned(dir: string, name: string, subject: string, out: string): void {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', out, '-days', '2', '-subj', subject], { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeSigningPki(dir: string): SigningPki {
  const store = join(dir, 'store');
  mkdirSync(store, { recursive: true });
  selfSigned(dir, 'signer', '/C=DE/O=celeriac tests/CN=signer', join(store, 'signer.pem'));
  selfSigned(dir, 'peer', '/CN=peer', join(store, 'peer.pem'));
  selfSigned(dir, 'rogue', '/C=DE/O=celeriac tests/CN=signer', join(dir, 'rogue.pem'));
  const files = {
    key: join(dir, 'signer.key'), cert: join(store, 'signer.pem'), peerKey: join(dir, 'peer.key'), peerCert: join(store, 'peer.pem'),
    rogueKey: join(dir, 'rogue.key'), rogueCert: join(dir, 'rogue.pem'),
  };
  const read = (f: string): string => readFileSync(f, 'utf8');
  return { key: read(files.key), cert: read(files.cert), peerKey: read(files.peerKey), peerCert: read(files.peerCert), rogueKey: read(files.rogueKey), rogueCert: read(files.rogueCert), store, files };
}
