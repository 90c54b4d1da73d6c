/** Configuration: the option table and its loader. */
export * from './options.js';
export * from './load.js';
