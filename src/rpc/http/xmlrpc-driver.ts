/**
 * The XML-RPC client driver (`RpcDriverFactory`). URLs: `xmlrpc+http://host:port/path`, `xmlrpc+https://...`
 * (the prefix chooses XML-RPC; what is posted to is the http(s) URL after it; Python's ServerProxy posts to
 * /RPC2 when the URL has no path, give it explicitly here). Arguments: an array is the list of parameters;
 * an object is sent as ONE struct parameter (XML-RPC has no parameters by name). A cast is a call whose
 * result and fault are ignored (XML-RPC has no notifications). Faults: faults.ts. Options: driver.ts.
 */
import type { RpcArgs, RpcDriver, RpcDriverFactory, RpcDriverOptions, RpcOutcome } from '../types.js';
import { FrameError } from '../../errors.js';
import { HttpRpcDriver, type WireProtocol } from './driver.js';
import { fromXmlRpcFault } from './faults.js';
import { readMethodResponse, writeMethodCall } from './xmlrpc.js';

const params = (args: RpcArgs): readonly unknown[] => (Array.isArray(args) ? args : [args]);

export const XML_RPC: WireProtocol = {
  name: 'XML-RPC',
  scheme: 'xmlrpc',
  listenPrefix: 'xmlrpc+',
  contentType: 'text/xml',
  encodeCall: (method, args) => writeMethodCall(method, params(args)),
  encodeCast: (method, args) => writeMethodCall(method, params(args)),
  decodeReply(text): RpcOutcome {
    const read = readMethodResponse(text);
    if (!read.ok) throw new FrameError(`the reply is no XML-RPC response (${read.message}): is the URL an XML-RPC endpoint?`);
    if (read.fault) return { ok: false, error: fromXmlRpcFault(read) };
    return { ok: true, result: read.value };
  },
  encodeMany: (calls) => writeMethodCall('system.multicall', [calls.map((c) => ({ methodName: c.method, params: params(c.args) }))]),
  decodeMany(text, _firstId, count) {
    const read = readMethodResponse(text);
    const list = read.ok && !read.fault && Array.isArray(read.value) ? (read.value as unknown[]) : [];
    return Array.from({ length: count }, (_, i) => {
      const entry = list[i];
      return Array.isArray(entry) && entry.length === 1 ? entry[0] : undefined;
    });
  },
};

/** An XML-RPC driver for `url` (xmlrpc+http://, xmlrpc+https://). */
export const createXmlRpcDriver: RpcDriverFactory = (url: string, options: RpcDriverOptions = {}): RpcDriver => new HttpRpcDriver(url, options, XML_RPC);
