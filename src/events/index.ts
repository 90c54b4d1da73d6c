/** Monitoring events: the dispatcher, the receiver, the cluster state and the typed event map. */
export * from './dispatcher.js';
export * from './receiver.js';
export * from './state.js';
export { eventExchange, eventsSupported } from './exchange.js';
export * from './dumper.js';
export * from './view.js';
