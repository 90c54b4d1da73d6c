/** The wire protocol: pure encoders and decoders shared by every transport, backend and the worker. */
export * from './message.js';
export * from './codecs.js';
export * from './envelope.js';
export * from './states.js';
export * from './task-message.js';
export * from './result-meta.js';
export * from './pyrepr.js';
export * from './events.js';
