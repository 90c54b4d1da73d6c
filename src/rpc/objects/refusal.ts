/**
 * Error replies to peers that speak a serializer celeriac refuses to read (serpent 1, marshal 3, pickle 4, dill 5,
 * cloudpickle 7). Their data is never decoded; only the refusal is WRITTEN in their format so a Pyro4 client shows
 * the reason instead of a decoding failure. Pure. What is written:
 *
 *   serpent      "# serpent utf-8 python3.2\n" + a Python literal: 'text', or the exception dict
 *                {'__class__': 'Pyro4.errors.SerializeError', '__exception__': True, 'args': ('text',), 'attributes': {}}
 *   marshal      'u' (TYPE_UNICODE) + u32 LE length + UTF-8 bytes   (a str; connectfail replies only)
 *   pickle/dill  0x80 0x02 (protocol 2) 'X' (BINUNICODE) + u32 LE length + UTF-8 bytes '.' (STOP)
 */
import { serializerById } from './serializers.js';
import { SERIALIZER_ID } from './wire.js';

function pyString(text: string): string {
  let out = "'";
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === "'" || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}'`;
}

function serpent(literal: string): Buffer {
  return Buffer.from(`# serpent utf-8 python3.2\n${literal}`, 'utf8');
}

/** A string in the refused serializer (for a connectfail reply), or null when it cannot be written. */
export function refusalText(serializerId: number, text: string): Buffer | null {
  const utf8 = Buffer.from(text, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(utf8.length);
  switch (serializerId) {
    case SERIALIZER_ID.serpent:
      return serpent(pyString(text));
    case SERIALIZER_ID.marshal:
      return Buffer.concat([Buffer.from('u', 'latin1'), len, utf8]);
    case SERIALIZER_ID.pickle:
    case SERIALIZER_ID.dill:
    case SERIALIZER_ID.cloudpickle:
      return Buffer.concat([Buffer.from([0x80, 0x02, 0x58]), len, utf8, Buffer.from('.', 'latin1')]);
    default:
      return null;
  }
}

/** A Pyro4 SerializeError exception in serpent (for an invoke result), or null for other serializers. */
export function refusalException(serializerId: number, text: string): Buffer | null {
  if (serializerId !== SERIALIZER_ID.serpent) return null;
  return serpent(`{'__class__': 'Pyro4.errors.SerializeError', '__exception__': True, 'args': (${pyString(text)},), 'attributes': {}}`);
}

/**
 * Reads a str written by Python's marshal (a Pyro4 daemon writes its connectfail reason in marshal before it knows
 * the client's serializer): types u/t/a/A (u32 LE length) and z/Z (u8 length), with or without FLAG_REF. Null otherwise.
 */
export function marshalString(data: Buffer): string | null {
  if (data.length < 2) return null;
  const type = String.fromCharCode((data[0] ?? 0) & 0x7f);
  if (type === 'z' || type === 'Z') {
    const n = data[1] ?? 0;
    return data.length >= 2 + n ? data.toString('latin1', 2, 2 + n) : null;
  }
  if ('utaA'.includes(type) && data.length >= 5) {
    const n = data.readUInt32LE(1);
    if (data.length < 5 + n) return null;
    return data.toString(type === 'u' || type === 't' ? 'utf8' : 'latin1', 5, 5 + n);
  }
  return null;
}

/** The reason of a connectfail reply: json, msgpack, or the marshal str a Pyro4 daemon writes before it knows the serializer. */
export function connectFailReason(serializerId: number, data: Buffer): string {
  try {
    const s = serializerById(serializerId);
    if (s) return String(s.loads(data));
    if (serializerId === SERIALIZER_ID.marshal) return marshalString(data) ?? '(reason in an undecodable marshal reply)';
  } catch {
    /* not decodable: say so below */
  }
  return `(reason in serializer ${serializerId}, not decoded)`;
}
