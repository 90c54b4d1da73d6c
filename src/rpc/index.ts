/** RPC between services: the client, the server and its dispatcher, over any driver (the seam in `types.ts`). */
export { RpcClient, DEFAULT_CALL_TIMEOUT, type RpcClientOptions, type CallOptions, type CallArgs, type CallResult, type CallerParams, type MethodName, type UntypedApi, type UntypedMethod, type RpcProxy } from './client.js';
export { RpcServer, type RpcServerTarget, type RpcServerOptions } from './server.js';
export { Dispatcher, publicMethods, versionCompatible, type DispatcherOptions, type EndpointTarget, type RpcCallContext } from './dispatcher.js';
export { remoteErrorInfo, rebuildRemoteError } from './remote-error.js';
export { docsFromSource, firstDocLine } from './docs.js';
export * from './types.js';
