/** `celeriac inspect <command> [args]`: ask workers what they are doing (commands from the app's registry). */
import type { Command } from 'commander';
import { CommandRegistry } from '../index.js';
import { addRemoteOptions, destinationOf, printReplies, withRemote, type RemoteFlags } from './remote.js';

export function registerInspect(program: Command): void {
  addRemoteOptions(program.command('inspect').description('Ask workers what they are doing: ping, active, stats, ... (--help lists them)').argument('[command]').argument('[args...]'), '1').action(
    async (command: string | undefined, words: string[], flags: RemoteFlags) => {
      await withRemote('inspect', flags, command, async (app, def) => {
        const args = CommandRegistry.parseWords(def, words);
        const replies = await app.control.inspect(destinationOf(flags, def.timeout || 1)).call(def.name, args);
        process.exitCode = printReplies(replies, flags);
      });
    },
  );
}
