/** Remote control: the pidbox mailbox (client and node), the command registry, the built-in commands. */
export * from './types.js';
export * from './registry.js';
export * from './mailbox.js';
export * from './node.js';
export * from './client.js';
export * from './revoked.js';
export { unsupported } from './inspect-commands.js';
