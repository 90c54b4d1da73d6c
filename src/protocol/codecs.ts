/**
 * Serializers by content type: JSON (the default) and msgpack. Pickle and YAML are refused: a message
 * in those formats is never decoded, let alone evaluated. A registry is a value, not a module global.
 */
import { Packr } from 'msgpackr';
import { ContentDisallowedError, ProtocolError } from '../errors.js';

export interface Codec {
  /** Short name used in configuration: 'json', 'msgpack'. */
  readonly name: string;
  readonly contentType: string;
  readonly contentEncoding: string;
  encode(value: unknown): Buffer;
  decode(body: Buffer): unknown;
}

export const jsonCodec: Codec = {
  name: 'json',
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  encode: (value) => Buffer.from(JSON.stringify(value), 'utf8'),
  decode: (body) => JSON.parse(body.toString('utf8')) as unknown,
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
  ['application/data', 'pickle'],
]);

export class CodecRegistry {
  private readonly byType = new Map<string, Codec>();
  private readonly byName = new Map<string, Codec>();

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

  /** Decodes a body by its content type; throws ContentDisallowedError / ProtocolError, never evaluates. */
  decode(contentType: string, body: Buffer): unknown {
    const type = (contentType || '').split(';')[0]?.trim().toLowerCase() ?? '';
    const unsafe = UNSAFE.get(type);
    if (unsafe) {
      throw new ContentDisallowedError(
        `refusing to decode a ${unsafe} message (content type '${type}'): it could run code. ` +
          `Send tasks with the json or msgpack serializer (Celery: task_serializer='json').`,
      );
    }
    const codec = this.byType.get(type);
    if (!codec) {
      throw new ContentDisallowedError(
        `unknown content type '${contentType}': accepted are ${[...this.byType.keys()].join(', ')}`,
      );
    }
    try {
      return codec.decode(body);
    } catch (cause) {
      throw new ProtocolError(`message body is not valid ${codec.name}: ${(cause as Error).message}`, { cause });
    }
  }
}
