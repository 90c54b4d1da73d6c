/** `celeriac control <command> [args]`: change what workers do (rate_limit, revoke, shutdown, ... and the app's own). */
import type { Command } from 'commander';
import { CommandRegistry, type Reply } from '../index.js';
import { addRemoteOptions, destinationOf, printReplies, withRemote, type RemoteFlags } from './remote.js';

export function registerControl(program: Command): void {
  addRemoteOptions(program.command('control').description('Change what workers do: rate_limit, revoke, add_consumer, shutdown, ... (--help lists them)').argument('[command]').argument('[args...]'), '1').action(
    async (command: string | undefined, words: string[], flags: RemoteFlags) => {
      await withRemote('control', flags, command, async (app, def) => {
        const args = CommandRegistry.parseWords(def, words);
        const where = { ...destinationOf(flags, def.timeout || 1), reply: true };
        let replies: Reply[];
        // Revocations also go to the result backend, so workers that start later honour them.
        if (def.name === 'revoke') replies = await app.control.revoke(args['task_id'] as string[], where);
        else if (def.name === 'terminate') replies = await app.control.terminate(args['task_id'] as string[], String(args['signal']), where);
        else replies = await app.control.broadcast(def.name, args, where);
        // --json prints the list of replies, as `celery control --json` does.
        if (flags.json) process.stdout.write(`${JSON.stringify(replies, null, 2)}\n`);
        process.exitCode = printReplies(Object.assign({}, ...replies) as Reply, { ...flags, json: false, quiet: flags.json });
      });
    },
  );
}
