/**
 * Serializers by content type: JSON (the default) and msgpack. Pickle and YAML are refused: a message
 * in those formats is never decoded, let alone evaluated. A decoded value nested deeper than
 * MAX_NESTING_DEPTH is refused too (limits.ts). A registry is a value, not a module global.
 */
import { Packr } from 'msgpackr';
import { CeleriacError, ContentDisallowedError, ProtocolError, SecurityError } from '../errors.js';
import { checkDepth } from './limits.js';

export interface Codec {
  /** Short name used in configuration: 'json', 'msgpack'. */
  readonly name: string;
  readonly contentType: string;
  readonly contentEncoding: string;
  encode(value: unknown): Buffer;
  decode(body: Buffer): unknown;
  /** Fewest bytes one level of nesting costs in this encoding (JSON 2: `[]`; default 1). */
  readonly bytesPerLevel?: number;
}

export const jsonCodec: Codec = {
  name: 'json',
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  encode: (value) => Buffer.from(JSON.stringify(value), 'utf8'),
  decode: (body) => JSON.parse(body.toString('utf8')) as unknown,
  bytesPerLevel: 2,
};

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

export const msgpackCodec: Codec = {
  name: 'msgpack',
  contentType: 'application/x-msgpack',
  contentEncoding: 'binary',
  encode: (value) => packr.pack(value),
  decode: (body) => packr.unpack(body) as unknown,
};

/** Content types that can run code when decoded; refused whatever the configuration says. */
const UNSAFE = new Map<string, string>([
  ['application/x-python-serialize', 'pickle'],
  ['application/x-yaml', 'yaml'],
]);

/** kombu's content type of its signed 'auth' serializer (and of raw bytes). */
export const SIGNED_CONTENT_TYPE = 'application/data';

function normalType(contentType: string): string {
  return (typeof contentType === 'string' ? contentType : '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export class CodecRegistry {
  private readonly byType = new Map<string, Codec>();
  private readonly byName = new Map<string, Codec>();
  /** Only signed messages (application/data) are decoded: set when message signing is on. */
  signedOnly = false;

  constructor(codecs: readonly Codec[] = [jsonCodec, msgpackCodec]) {
    for (const c of codecs) this.register(c);
  }

  register(codec: Codec): void {
    this.byType.set(codec.contentType, codec);
    this.byName.set(codec.name, codec);
  }

  /** Looks a codec up by its configuration name ('json'). */
  byNameOrThrow(name: string): Codec {
    const codec = this.byName.get(name);
    if (!codec) {
      throw new ProtocolError(
        `unknown serializer '${name}': use one of ${[...this.byName.keys()].join(', ')} (pickle is refused for safety)`,
      );
    }
    return codec;
  }

  /** The codec registered for a content type (parameters and case ignored). */
  byContentType(contentType: string): Codec | undefined {
    return this.byType.get(normalType(contentType));
  }

  /** Decodes a body by its content type; throws ContentDisallowedError / ProtocolError, never evaluates. */
  decode(contentType: string, body: Buffer): unknown {
    const type = normalType(contentType);
    if (this.signedOnly && type !== SIGNED_CONTENT_TYPE) {
      throw new SecurityError(`unsigned message (content type '${String(contentType).slice(0, 100)}') refused: this app requires messages signed with the auth serializer`);
    }
    const codec = this.byType.get(type);
    if (!codec) {
      const unsafe = UNSAFE.get(type);
      if (unsafe) {
        throw new ContentDisallowedError(
          `refusing to decode a ${unsafe} message (content type '${type}'): it could run code. ` +
            `Send tasks with the json or msgpack serializer (Celery: task_serializer='json').`,
        );
      }
      if (type === SIGNED_CONTENT_TYPE) {
        throw new ContentDisallowedError(
          `a signed message (content type '${type}', Celery's 'auth' serializer) reached an app without message signing: ` +
            "set taskSerializer: 'auth' and the security options (securityKey, securityCertificate, securityCertStore, or securityHmacKey) to accept it",
        );
      }
      throw new ContentDisallowedError(
        `unknown content type '${String(contentType).slice(0, 100)}': accepted are ${[...this.byType.keys()].join(', ')}`,
      );
    }
    let value: unknown;
    try {
      value = codec.decode(body);
    } catch (cause) {
      // A codec's own refusal (a signature that does not verify) keeps its type; anything else is a bad body.
      if (cause instanceof CeleriacError) throw cause;
      throw new ProtocolError(`message body is not valid ${codec.name}: ${(cause as Error).message}`, { cause });
    }
    checkDepth(value, body.length, codec.bytesPerLevel ?? 1);
    return value;
  }
}
