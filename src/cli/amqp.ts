/**
 * `celeriac amqp [COMMAND ARGS...]`: Celery's AMQP admin shell on any broker. With a command, runs it and
 * exits; without, reads commands from stdin (a prompt on a terminal; piped lines run one after the other).
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { Celeriac, CeleriacError, UnknownTransportError } from '../index.js';
import { AMQP_COMMANDS, AmqpSession } from './amqp-commands.js';
import { loadApp } from './load-app.js';
import { UsageError } from './usage.js';
import { splitWords } from './words.js';

interface AmqpFlags {
  app?: string;
  broker?: string;
}

const HELP = AMQP_COMMANDS.map(([, usage, help]) => `  ${usage}\n      ${help}`).join('\n');

const EXAMPLES = `
Commands (Celery's amqp shell; yes/no arguments also read true/false, 1/0, on/off):
${HELP}

Examples:
  $ celeriac amqp -b redis://localhost:6379/0 queue.declare q1 no yes    # not passive, durable
  $ celeriac amqp exchange.declare ex1 direct no yes && celeriac amqp queue.bind q1 ex1 k1
  $ celeriac amqp basic.publish '{"hello": 1}' ex1 k1
  $ celeriac amqp basic.get q1 yes          # take one message for good (without yes: it goes back on exit)
  $ celeriac amqp -A ./tasks.ts             # an interactive session on the app's broker: help, exit
  $ printf 'basic.get q1\\nbasic.ack 1\\n' | celeriac amqp
Exit codes: 0 done; 1 the broker refused a command; 2 bad arguments. Piped sessions exit with the worst of their commands.`;

/** Runs one command line, printing its error; returns the exit code it deserves. */
async function runLine(session: AmqpSession, words: readonly string[]): Promise<number> {
  try {
    await session.run(words);
    return 0;
  } catch (err) {
    process.stderr.write(`ERROR: ${(err as Error).message}\n`);
    return err instanceof UsageError || (err instanceof CeleriacError && err.code === 'E_CONFIG') ? 2 : 1;
  }
}

/** Reads commands from stdin until it ends or `exit`; `help` lists them. Returns the worst exit code. */
async function interactive(session: AmqpSession, url: string): Promise<number> {
  const tty = process.stdin.isTTY === true;
  if (tty) process.stdout.write(`-> connected to ${url}.\n   help lists the commands; exit (or Ctrl-D) ends the session.\n`);
  const rl = createInterface({ input: process.stdin, output: tty ? process.stdout : undefined, terminal: tty, prompt: '> ' });
  let worst = 0;
  if (tty) rl.prompt();
  for await (const line of rl) {
    let words: string[] = [];
    try {
      words = splitWords(line);
    } catch (err) {
      process.stderr.write(`ERROR: ${(err as Error).message}\n`);
      worst = Math.max(worst, 2);
    }
    const [first] = words;
    if (first === 'exit' || first === 'quit') break;
    if (first === 'help') process.stdout.write(`${HELP}\n`);
    else if (first !== undefined && !first.startsWith('#')) worst = Math.max(worst, await runLine(session, words));
    if (tty) rl.prompt();
  }
  rl.close();
  const left = session.unacked;
  if (left.length) process.stderr.write(`(${left.length} unacked ${left.length === 1 ? 'message goes' : 'messages go'} back to the queue)\n`);
  return tty ? 0 : worst;
}

export function registerAmqp(program: Command): void {
  program
    .command('amqp')
    .description("Admin shell over any broker (Celery's amqp): declare, bind and delete exchanges and queues, publish, get and ack messages")
    .argument('[command]', 'one command to run, e.g. queue.declare (without: read commands from stdin)')
    .argument('[args...]', "the command's arguments")
    .option('-A, --app <module>', "module that exports the app, for its broker; default: CELERIAC_BROKER_URL")
    .option('-b, --broker <url>', 'broker URL instead of the app\'s, e.g. redis://localhost:6379/0')
    .addHelpText('after', EXAMPLES)
    .action(async (command: string | undefined, args: string[], flags: AmqpFlags) => {
      if (flags.app && flags.broker) throw new UsageError('give -A (the app, for its broker) or -b (a broker URL), not both');
      const app = flags.broker ? new Celeriac('celeriac-amqp', { broker: flags.broker, backend: 'memory://' }) : await loadApp(flags.app);
      try {
        const transport = await app.connection().catch((err: unknown) => {
          throw err instanceof UnknownTransportError ? new UsageError(err.message) : err;
        });
        const session = new AmqpSession(transport, (line) => process.stdout.write(`${line}\n`));
        try {
          if (command === undefined) {
            process.exitCode = await interactive(session, transport.url);
          } else {
            process.exitCode = await runLine(session, [command, ...args]);
            if (session.unacked.length) process.stderr.write("(not acked: the message goes back to the queue now; 'basic.get QUEUE yes' takes it for good)\n");
          }
        } finally {
          await session.close();
        }
      } finally {
        await app.close();
      }
    });
}
