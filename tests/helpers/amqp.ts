// RabbitMQ for tests: the URL (CELERIAC_TEST_AMQP_URL or the local server), and private vhosts and users
// made with rabbitmqctl, as an operator would, deleted (with everything in them) after the test.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const AMQP_URL = process.env['CELERIAC_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672//';
const HOST = process.env['CELERIAC_TEST_AMQP_HOST'] ?? '127.0.0.1:5672';

export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', ['-q', ...args], { timeout: 60_000 });
  return stdout;
}

export interface Vhost {
  name: string;
  user: string;
  password: string;
  /** amqp://user:password@host/vhost */
  url: string;
  remove(): Promise<void>;
}

/**
 * A new vhost and a user with the given permissions on it (configure, write, read regexps; default all).
 * `permissions: null` gives the user no permissions there at all.
 */
export async function createVhost(permissions: [string, string, string] | null = ['.*', '.*', '.*']): Promise<Vhost> {
  const id = randomUUID().slice(0, 8);
  const name = `celeriac-test-${id}`;
  const user = `celeriac-user-${id}`;
  const password = `pw-${randomUUID()}`;
  await rabbitmqctl('add_vhost', name);
  await rabbitmqctl('add_user', user, password);
  // The management tag lets the transport list queues over HTTP (without renewing x-expires leases).
  await rabbitmqctl('set_user_tags', user, 'management');
  if (permissions) await rabbitmqctl('set_permissions', '-p', name, user, ...permissions);
  return {
    name,
    user,
    password,
    url: `amqp://${user}:${password}@${HOST}/${encodeURIComponent(name)}`,
    remove: async () => {
      await rabbitmqctl('delete_vhost', name).catch(() => undefined);
      await rabbitmqctl('delete_user', user).catch(() => undefined);
    },
  };
}
