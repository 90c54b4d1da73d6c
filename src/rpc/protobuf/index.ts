/** Protobuf services over celeriac's direct RPC (the public part): schemas, the body codec (frame codec id 3), typed stubs, the stub generator. */
export { loadProtoService, loadProtoRoot, ProtoService, type LoadProtoOptions, type ProtoDescriptor, type ProtoMethod } from './schema.js';
export type { LongsAs } from './messages.js';
export { protobufCodec, type ProtobufBodyCodec } from './codec.js';
export { ENVELOPE_PROTO, GrpcStatus } from './envelope.js';
export { protoClient, protoServer, protoEndpoint, type ProtoBinding, type ProtoClient, type ProtoClientHandle, type ProtoClientOptions, type ProtoRpcHost, type ProtoServerOptions } from './stubs.js';
export { generateStubs, type StubsOptions } from './generate.js';
