/** `celeriac list queues` and `celeriac list dead-letters`: what the broker holds, as a table or JSON. */
import type { Command } from 'commander';
import type { Celeriac, DeadLetter } from '../index.js';
import { loadApp } from './load-app.js';
import { formatTable, parseNumberOption } from './usage.js';

interface ListFlags {
  app?: string;
  json?: boolean;
}

interface DeadLetterFlags extends ListFlags {
  limit: string;
}

const APP_HELP = 'module that exports the app (for its broker); default: CELERIAC_BROKER_URL';

async function withApp(spec: string | undefined, fn: (app: Celeriac) => Promise<void>): Promise<void> {
  const app = await loadApp(spec);
  try {
    await fn(app);
  } finally {
    await app.close();
  }
}

function header(d: DeadLetter, name: string): string | undefined {
  const v = d.message.headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A dead letter as `--json` prints it; the body as text when it is text, otherwise base64. */
function deadLetterJson(d: DeadLetter): Record<string, unknown> {
  const { body, contentType, contentEncoding, headers, properties } = d.message;
  const text = contentEncoding === 'utf-8' || /json|text/.test(contentType) ? body.toString('utf8') : undefined;
  const textual = text !== undefined && !text.includes('\uFFFD');
  return {
    id: d.id,
    queue: d.queue,
    reason: d.reason,
    at: new Date(d.at).toISOString(),
    task: header(d, 'task') ?? null,
    taskId: header(d, 'id') ?? null,
    contentType,
    contentEncoding,
    headers,
    properties,
    body: textual ? text : body.toString('base64'),
    bodyEncoding: textual ? 'text' : 'base64',
  };
}

export function registerList(program: Command): void {
  const list = program.command('list').description('List what the broker holds: queues, dead letters');

  list
    .command('queues')
    .description('Queues with their ready and unacked (held by a worker) message counts, and their consumers where the broker knows them (RabbitMQ)')
    .option('-A, --app <module>', APP_HELP)
    .option('--json', 'print a JSON list of { name, ready, unacked, consumers? }')
    .action(async (flags: ListFlags) => {
      await withApp(flags.app, async (app) => {
        const queues = await (await app.connection()).listQueues();
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(queues.map((q) => ({ name: q.name, ready: q.messages, unacked: q.unacked, consumers: q.consumers })))}\n`);
        } else if (queues.length === 0) {
          process.stdout.write('No queues yet: they are declared when a task is sent to them or a worker consumes them.\n');
        } else {
          // Consumers only where the broker counts them (AMQP): Redis and SQLite do not record who reads a queue.
          const known = queues.some((q) => q.consumers !== undefined);
          const header = known ? ['NAME', 'READY', 'UNACKED', 'CONSUMERS'] : ['NAME', 'READY', 'UNACKED'];
          process.stdout.write(formatTable(header, queues.map((q) => (known ? [q.name, q.messages, q.unacked, q.consumers ?? '-'] : [q.name, q.messages, q.unacked]))));
        }
      });
    });

  list
    .command('dead-letters')
    .description('Messages the broker set aside instead of running (malformed, pickle, unregistered task), newest first')
    .option('-A, --app <module>', APP_HELP)
    .option('--limit <n>', 'show at most this many', '20')
    .option('--json', 'print a JSON list with headers and body of each message')
    .action(async (flags: DeadLetterFlags) => {
      const limit = parseNumberOption('--limit', flags.limit, { min: 1, integer: true });
      await withApp(flags.app, async (app) => {
        const transport = await app.connection();
        if (!transport.capabilities.deadLetter) {
          process.stderr.write(`the ${transport.capabilities.name} broker keeps no dead letters: rejected messages are dropped (or handled by the broker's own dead-letter setup)\n`);
        }
        const letters = await transport.deadLetters(limit);
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(letters.map(deadLetterJson))}\n`);
          return;
        }
        if (letters.length === 0) {
          process.stdout.write('No dead letters.\n');
          return;
        }
        const rows = letters.map((d) => [d.id, d.queue, new Date(d.at).toISOString(), header(d, 'task') ?? '-', header(d, 'id') ?? '-', d.reason]);
        process.stdout.write(formatTable(['ID', 'QUEUE', 'TIME', 'TASK', 'TASK ID', 'REASON'], rows));
        if (letters.length === limit) process.stdout.write(`(the newest ${limit}; --limit N shows more)\n`);
      });
    });
}
