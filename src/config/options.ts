/**
 * Every app option in one declared table: type (a zod schema), default, environment variable and a
 * one-line doc. `loadConfig()` is an explicit call; importing this file does nothing.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';

export const DEFAULT_URL = 'sqlite://./celeriac.db';

const route = z.union([
  z.string().min(1),
  z.object({
    queue: z.string().min(1).optional(),
    exchange: z.string().optional(),
    routingKey: z.string().optional(),
    priority: z.number().int().min(0).max(255).optional(),
  }).strict(),
]);

/** A beat schedule: a cron string, every N seconds, once at a time, or crontab() (Celery's day semantics). */
const beatScheduleSpec = z.union([
  z.string().min(1),
  z.object({ every: z.number().positive() }).strict(),
  z.object({ at: z.union([z.date(), z.string().min(1), z.number()]) }).strict(),
  z.object({ cron: z.string().min(1), timezone: z.string().min(1).optional(), dayAnd: z.boolean().optional() }).strict(),
]);

/** One entry of beatSchedule (Celery's beat_schedule). */
const beatEntry = z.object({
  task: z.string().min(1),
  schedule: beatScheduleSpec,
  args: z.array(z.unknown()).optional(),
  kwargs: z.record(z.string(), z.unknown()).optional(),
  options: z.object({
    queue: z.string().min(1).optional(),
    exchange: z.string().optional(),
    routingKey: z.string().optional(),
    priority: z.number().int().min(0).max(255).optional(),
    expires: z.union([z.number().positive(), z.date(), z.string().min(1)]).optional(),
    countdown: z.number().min(0).optional(),
    ignoreResult: z.boolean().optional(),
    headers: z.record(z.string(), z.unknown()).optional(),
  }).strict().optional(),
  /** The task runs on workers of another code base (e.g. Python): skip the check that the app registers it. */
  external: z.boolean().optional(),
});

const exchangeSpec = z.union([
  z.string().min(1),
  z.object({ name: z.string().min(1), type: z.enum(['direct', 'topic', 'fanout']).default('direct') }).strict(),
]);

/** One entry of `queues` (Celery's task_queues): the queue, its exchange and binding key, its priority levels. */
const queueSpec = z.object({
  name: z.string().min(1),
  exchange: exchangeSpec.optional(),
  routingKey: z.string().optional(),
  maxPriority: z.number().int().min(1).max(255).optional(),
}).strict();

export interface OptionSpec<S extends z.ZodTypeAny> {
  schema: S;
  default: z.input<S>;
  env?: string;
  doc: string;
}

function option<S extends z.ZodTypeAny>(spec: OptionSpec<S>): OptionSpec<S> {
  return spec;
}

/** The table. Keys are the option names users write. */
export const OPTIONS = {
  broker: option({ schema: z.string().min(1), default: DEFAULT_URL, env: 'CELERIAC_BROKER_URL', doc: 'Broker URL: sqlite://PATH (default), memory://, and more as plug-ins land.' }),
  backend: option({ schema: z.string().min(1), default: DEFAULT_URL, env: 'CELERIAC_RESULT_BACKEND', doc: 'Result backend URL: sqlite://PATH (default), memory://.' }),
  defaultQueue: option({ schema: z.string().min(1), default: 'celery', env: 'CELERIAC_DEFAULT_QUEUE', doc: "Queue for tasks no route names (Celery's task_default_queue)." }),
  taskRoutes: option({ schema: z.record(z.string(), route), default: {}, doc: "Task name or glob ('tasks.*') to a queue name or { queue, exchange, routingKey, priority }." }),
  taskSerializer: option({ schema: z.enum(['json', 'msgpack', 'auth']), default: 'json', env: 'CELERIAC_TASK_SERIALIZER', doc: "Serializer of task messages: json, msgpack, or auth (Celery's signed serializer: set the security options; unsigned messages are then refused). Pickle is refused." }),
  resultExpires: option({ schema: z.number().min(0), default: 86_400, env: 'CELERIAC_RESULT_EXPIRES', doc: 'Seconds a result is kept; 0 keeps results forever.' }),
  resultExtended: option({ schema: z.boolean(), default: false, doc: 'Store name, args, kwargs, worker, retries and queue with each result.' }),
  taskIgnoreResult: option({ schema: z.boolean(), default: false, doc: 'Default for tasks: store no result.' }),
  taskTrackStarted: option({ schema: z.boolean(), default: false, doc: 'Default for tasks: record STARTED when a worker begins running them.' }),
  acksLate: option({ schema: z.boolean(), default: false, env: 'CELERIAC_ACKS_LATE', doc: 'Ack a task message after the task finished (at-least-once) instead of when it starts.' }),
  prefetchMultiplier: option({ schema: z.number().int().min(0), default: 4, env: 'CELERIAC_PREFETCH_MULTIPLIER', doc: 'Messages a worker holds per concurrency slot; 0 = unlimited.' }),
  concurrency: option({ schema: z.number().int().min(1), default: availableParallelism(), env: 'CELERIAC_CONCURRENCY', doc: 'Tasks a worker runs at once (default: number of CPUs).' }),
  visibilityTimeout: option({ schema: z.number().int().min(1000), default: 3_600_000, env: 'CELERIAC_VISIBILITY_TIMEOUT', doc: 'ms before an unacked message of a vanished worker is delivered again.' }),
  brokerOptions: option({ schema: z.record(z.string(), z.unknown()), default: {}, doc: 'Options passed to the broker plug-in (see its header).' }),
  backendOptions: option({ schema: z.record(z.string(), z.unknown()), default: {}, doc: 'Options passed to the result backend plug-in.' }),
  beatSchedule: option({ schema: z.record(z.string(), beatEntry), default: {}, doc: "Periodic tasks (Celery's beat_schedule): name to { task, schedule: { every: s } | crontab(...) | '*/5 * * * *' | { at: Date }, args, kwargs, options }." }),
  timezone: option({ schema: z.string().min(1), default: 'UTC', env: 'CELERIAC_TIMEZONE', doc: "IANA time zone of beat's crontab schedules, e.g. 'Asia/Shanghai' (Celery's timezone)." }),
  beatLeaseTime: option({ schema: z.number().min(1), default: 30, env: 'CELERIAC_BEAT_LEASE_TIME', doc: 'Seconds a beat leader holds its lease without renewing: the longest gap before another beat takes over.' }),
  beatMaxLoopInterval: option({ schema: z.number().positive(), default: 300, env: 'CELERIAC_BEAT_MAX_LOOP_INTERVAL', doc: "Most seconds beat sleeps between checks of the schedule (Celery's beat_max_loop_interval)." }),
  maxMessageSize: option({ schema: z.number().int().min(0), default: 16 * 1024 * 1024, env: 'CELERIAC_MAX_MESSAGE_SIZE', doc: 'Largest message body in bytes, refused on send and dead-lettered on receive (also after decompression); 0 = no limit.' }),
  securityKey: option({ schema: z.string().min(1).nullable(), default: null, env: 'CELERIAC_SECURITY_KEY', doc: "With taskSerializer 'auth': the RSA private key that signs (a PEM file path, or the PEM text; Celery's security_key)." }),
  securityKeyPassword: option({ schema: z.string().nullable(), default: null, env: 'CELERIAC_SECURITY_KEY_PASSWORD', doc: "Password of an encrypted securityKey (Celery's security_key_password)." }),
  securityCertificate: option({ schema: z.string().min(1).nullable(), default: null, env: 'CELERIAC_SECURITY_CERTIFICATE', doc: "With taskSerializer 'auth': the X.509 certificate of securityKey (PEM file path or text; Celery's security_certificate)." }),
  securityCertStore: option({ schema: z.string().min(1).nullable(), default: null, env: 'CELERIAC_SECURITY_CERT_STORE', doc: "With taskSerializer 'auth': the trusted certificates: a directory, a file, or a glob such as /etc/certs/*.pem (Celery's security_cert_store)." }),
  securityDigest: option({ schema: z.enum(['sha256', 'sha384', 'sha512', 'sha1']), default: 'sha256', env: 'CELERIAC_SECURITY_DIGEST', doc: "Digest of signatures (Celery's security_digest)." }),
  securitySerializer: option({ schema: z.enum(['json', 'msgpack']), default: 'json', env: 'CELERIAC_SECURITY_SERIALIZER', doc: "Serializer of the signed payload (Celery's security_serializer)." }),
  securityHmacKey: option({ schema: z.string().min(1).nullable(), default: null, env: 'CELERIAC_SECURITY_HMAC_KEY', doc: "With taskSerializer 'auth': sign with HMAC and this shared secret instead of keys and certificates (celeriac only: Celery peers refuse it)." }),
  controlAllow: option({ schema: z.array(z.string().min(1)).nullable(), default: null, doc: 'Remote-control commands a worker runs (e.g. ["ping", "stats"]); null runs every command. Others get an error reply.' }),
  poolRestarts: option({ schema: z.boolean(), default: false, env: 'CELERIAC_POOL_RESTARTS', doc: "Workers honour `control pool_restart`: new threads or child processes re-import the app module (Celery's worker_pool_restarts, the worker's --pool-restarts)." }),
  controlExchange: option({ schema: z.string().min(1), default: 'celery', env: 'CELERIAC_CONTROL_EXCHANGE', doc: "Name of the remote-control mailbox: exchanges <name>.pidbox and reply.<name>.pidbox (Celery's control_exchange)." }),
  rpcExchange: option({ schema: z.string().min(1), default: 'openstack', env: 'CELERIAC_RPC_EXCHANGE', doc: "Exchange of RPC calls over the broker (oslo.messaging's control_exchange): topic exchange <name>, fanout exchanges <topic>_fanout." }),
  queues: option({ schema: z.array(queueSpec), default: [], doc: "Celery's task_queues: [{ name, exchange: { name, type: 'direct' | 'topic' | 'fanout' }, routingKey, maxPriority }]; unlisted queues get a direct exchange named after them." }),
  queueMaxPriority: option({ schema: z.number().int().min(0).max(255), default: 0, env: 'CELERIAC_QUEUE_MAX_PRIORITY', doc: "Celery's task_queue_max_priority: x-max-priority of queues that set none (0 = no priority queues)." }),
  workerSendTaskEvents: option({ schema: z.boolean(), default: false, env: 'CELERIAC_WORKER_SEND_TASK_EVENTS', doc: "Workers send task events (task-received, -started, -succeeded...) for monitors (Celery's worker_send_task_events, the worker's -E)." }),
  eventOutboxLimit: option({ schema: z.number().int().min(1), default: 10_000, env: 'CELERIAC_EVENT_OUTBOX_LIMIT', doc: "Events a worker or producer keeps while the broker is unreachable, sent in order once it is back (Celery's buffer_while_offline, unbounded there); beyond it the oldest are dropped, and a warning says how many." }),
  taskSendSentEvent: option({ schema: z.boolean(), default: false, env: 'CELERIAC_TASK_SEND_SENT_EVENT', doc: "Producers send a task-sent event for every task they publish (Celery's task_send_sent_event)." }),
  logLevel: option({ schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']), default: 'info', env: 'CELERIAC_LOG_LEVEL', doc: 'Log level of workers and the CLI.' }),
} as const;

export type OptionName = keyof typeof OPTIONS;

/** The resolved configuration: every option present with its type. */
export type Config = { [K in OptionName]: z.output<(typeof OPTIONS)[K]['schema']> };

/** What users pass: every option optional. */
export type ConfigInput = { [K in OptionName]?: z.input<(typeof OPTIONS)[K]['schema']> };

export type RouteSpec = z.output<typeof route>;

/** A beat entry and schedule as written in the options. */
export type BeatEntrySpec = z.input<typeof beatEntry>;
export type BeatScheduleSpec = z.input<typeof beatScheduleSpec>;
export type QueueSpec = z.output<typeof queueSpec>;
