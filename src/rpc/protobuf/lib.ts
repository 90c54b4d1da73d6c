/** protobufjs, loaded on first use: importing celeriac costs nothing until a protobuf service is loaded. */
import { createRequire } from 'node:module';
import type * as Protobuf from 'protobufjs';

const requireHere = createRequire(import.meta.url);

/** The protobufjs module (8.8.1; Node caches it after the first call). */
export function protobufjs(): typeof Protobuf {
  return requireHere('protobufjs') as typeof Protobuf;
}
