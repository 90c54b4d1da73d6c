/** `celeriac status`: the workers online (those that answer a ping), as Celery's `celery status`. */
import type { Command } from 'commander';
import { loadApp } from './load-app.js';
import { destinationOf, EX_UNAVAILABLE, type RemoteFlags } from './remote.js';
import { formatTable } from './usage.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('List the workers online (they answer a ping)')
    .option('-A, --app <module>', 'module that exports the app (for its broker); default: CELERIAC_BROKER_URL')
    .option('-d, --destination <nodes>', 'comma-separated node names to ask')
    .option('-t, --timeout <seconds>', 'how long to wait for replies', '1')
    .option('-j, --json', 'print a JSON list of node names')
    .action(async (flags: RemoteFlags) => {
      const app = await loadApp(flags.app);
      try {
        const replies = await app.control.inspect(destinationOf(flags)).ping();
        const nodes = Object.keys(replies).sort();
        if (flags.json) process.stdout.write(`${JSON.stringify(nodes)}\n`);
        else if (nodes.length) process.stdout.write(`${formatTable(['NODE', 'STATUS'], nodes.map((n) => [n, 'OK']))}\n${nodes.length} node${nodes.length === 1 ? '' : 's'} online.\n`);
        else process.stderr.write('Error: No nodes replied within time constraint\n');
        process.exitCode = nodes.length ? 0 : EX_UNAVAILABLE;
      } finally {
        await app.close();
      }
    });
}
