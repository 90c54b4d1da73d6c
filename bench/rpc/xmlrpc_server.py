"""Python's stdlib SimpleXMLRPCServer for bench/rpc/run.ts: add(a, b), HTTP/1.1 keep-alive, no request log.
Prints 'READY <port>' once it serves. Usage: /usr/bin/python3 xmlrpc_server.py"""
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer


class KeepAlive(SimpleXMLRPCRequestHandler):
    protocol_version = 'HTTP/1.1'


server = SimpleXMLRPCServer(('127.0.0.1', 0), requestHandler=KeepAlive, logRequests=False, allow_none=True)
server.register_function(lambda a, b: a + b, 'add')
print('READY', server.server_address[1], flush=True)
server.serve_forever()
