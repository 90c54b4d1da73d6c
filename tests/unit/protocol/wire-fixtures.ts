/** Loads the golden fixtures captured from Python Celery 5.2.6 (tests/fixtures/wire, see its README). */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WIRE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/wire');

export interface CapturedEnvelope {
  body: string;
  'content-encoding': string;
  'content-type': string;
  headers: Record<string, unknown>;
  properties: Record<string, unknown> & { delivery_info: { exchange: string; routing_key: string }; delivery_tag: string };
}

export interface CapturedMessage {
  queue_list: string;
  envelope: CapturedEnvelope;
  decoded_body: [unknown[], Record<string, unknown>, Record<string, unknown>];
  raw: string;
}

export interface MessageFixture extends CapturedMessage {
  python_call: string;
  other_messages?: CapturedMessage[];
}

export interface ResultFixture {
  python_call: string;
  key: string;
  record: Record<string, unknown>;
}

function load<T>(sub: string): [string, T][] {
  const dir = join(WIRE_DIR, sub);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(dir, f), 'utf8')) as T]);
}

export const messageFixtures = (): [string, MessageFixture][] => load<MessageFixture>('messages');
export const resultFixtures = (): [string, ResultFixture][] => load<ResultFixture>('results');
export const eventFixtures = (): [string, { event: Record<string, unknown> }][] => load('events');

/** Every captured task message, group and chord members included, with a readable label. */
export function allMessages(): [string, MessageFixture, CapturedMessage][] {
  return messageFixtures().flatMap(([name, fx]) => [
    [name, fx, fx] as [string, MessageFixture, CapturedMessage],
    ...(fx.other_messages ?? []).map((m, i) => [`${name}[${i + 1}]`, fx, m] as [string, MessageFixture, CapturedMessage]),
  ]);
}
