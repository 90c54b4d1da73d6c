/** RPC over HTTP: the gateway (JSON-RPC 2.0 and XML-RPC server of one RpcHandler) and the two client drivers. */
export { createGateway, createRequestListener, chooseProtocol, DEFAULT_MAX_BODY, type Gateway, type GatewayAuth, type GatewayOptions } from './gateway.js';
export { createJsonRpcDriver } from './jsonrpc-driver.js';
export { createXmlRpcDriver } from './xmlrpc-driver.js';
export { fromJsonRpcError, fromXmlRpcFault, toJsonRpcError, toXmlRpcFault, type JsonRpcErrorObject, type XmlRpcFault } from './faults.js';
