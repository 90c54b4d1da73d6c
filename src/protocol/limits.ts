/**
 * Size and shape limits on messages, checked before anything is decoded or run. Pure.
 *
 *   limit                 default   checked
 *   maxMessageSize        16 MiB    the body in bytes (after decompression too): on publish by every transport,
 *                                   on receive before decoding; 0 = no limit
 *   stored envelope       derived   a kombu envelope (Redis, SQLite) longer than the body limit allows
 *                                   (base64 4/3 of it + 64 KiB for headers) is refused unread
 *   nesting depth         100       lists and objects inside one another in a decoded body (JSON parses a
 *                                   million levels, but everything that walks the value later would overflow
 *                                   the stack); a body too short to hold that many levels is not walked
 */
import { MessageTooLargeError } from '../errors.js';

export const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;
export const MAX_NESTING_DEPTH = 100;
/** Room for headers and properties in a stored envelope, besides the base64 body. */
const ENVELOPE_HEADROOM = 64 * 1024;

/** `maxMessageSize` as given (a number or numeric string; 0 = no limit); the default when absent or invalid. */
export function messageSizeLimit(value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.floor(n) : DEFAULT_MAX_MESSAGE_SIZE;
}

function mib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${bytes} bytes`;
}

/** Why a body of `size` bytes is refused, or undefined when it fits. */
export function sizeProblem(size: number, max: number): string | undefined {
  if (max <= 0 || size <= max) return undefined;
  return `message body of ${mib(size)} is over maxMessageSize (${mib(max)})`;
}

/** Throws MessageTooLargeError for an outgoing body over the limit, saying what to do. */
export function checkOutgoingSize(size: number, max: number, where: string): void {
  const problem = sizeProblem(size, max);
  if (problem) {
    throw new MessageTooLargeError(
      `${where}: ${problem}. Send a reference instead (a file path, a URL, a key in a store), or raise maxMessageSize ` +
        '(brokers have their own limits too: RabbitMQ max_message_size, Redis proto-max-bulk-len)',
    );
  }
}

/** Throws MessageTooLargeError for a received body over the limit. */
export function checkIncomingSize(size: number, max: number): void {
  const problem = sizeProblem(size, max);
  if (problem) throw new MessageTooLargeError(`message too large: ${problem}`);
}

/** Whether a stored envelope of `length` characters is larger than any message within the limit can be. */
export function envelopeTooLarge(length: number, max: number): boolean {
  return max > 0 && length > Math.ceil((max * 4) / 3) + ENVELOPE_HEADROOM;
}

/**
 * Throws MessageTooLargeError when `value` nests lists and objects deeper than `max`. `encodedLength` is the
 * size of the encoding it came from: each level costs at least `bytesPerLevel` bytes (msgpack 1, JSON 2), so
 * a short body (most task messages) is not walked at all. Iterative: it cannot overflow the stack itself.
 */
export function checkDepth(value: unknown, encodedLength: number, bytesPerLevel = 1, max = MAX_NESTING_DEPTH): void {
  if (encodedLength <= max * bytesPerLevel) return;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) continue;
    if (depth > max) throw new MessageTooLargeError(`message body nests lists or objects more than ${max} levels deep: refused (it could exhaust the stack of whatever reads it)`);
    if (Array.isArray(v)) for (const item of v) stack.push([item, depth + 1]);
    else for (const key in v) stack.push([(v as Record<string, unknown>)[key], depth + 1]);
  }
}
