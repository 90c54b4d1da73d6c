/**
 * The command registry: every remote-control command (built-in or a user's) with its handler and its
 * metadata — kind (inspect or control), typed arguments, help — so the worker, the typed client and
 * `celeriac inspect/control --help` read one table.
 */
import { ControlError } from '../errors.js';
import type { LamportClock } from '../util/lamport.js';
import type { ControlTarget } from './types.js';

export type CommandKind = 'inspect' | 'control';
export type ArgType = 'string' | 'number' | 'boolean' | 'json';

export interface CommandArg {
  name: string;
  type: ArgType;
  /** Collects the remaining command-line words into a list (e.g. revoke's ids). */
  variadic?: boolean;
  required?: boolean;
  help?: string;
}

export interface CommandMeta {
  kind: CommandKind;
  args?: CommandArg[];
  /** One line for `--help`. */
  help?: string;
  /** Whether the worker replies (default true). */
  replies?: boolean;
  /** Other names Celery accepts (dump_active for active, ...). */
  aliases?: string[];
  /** Left out of `--help` listings (Celery's visible=False). */
  hidden?: boolean;
  /** Seconds the CLI waits for replies when -t is not given (Celery's default_timeout; 0: the CLI's own default). */
  timeout?: number;
}

export interface CommandContext {
  hostname: string;
  clock: LamportClock;
}

export type CommandHandler = (target: ControlTarget, args: Record<string, unknown>, ctx: CommandContext) => unknown;

export interface CommandDefinition extends Required<Omit<CommandMeta, 'help'>> {
  name: string;
  help: string;
  handler: CommandHandler;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class CommandRegistry {
  private readonly commands = new Map<string, CommandDefinition>();
  private readonly aliases = new Map<string, string>();

  /** Registers (or replaces) a command. Names are Python identifiers, as Celery's are. */
  register(name: string, meta: CommandMeta, handler: CommandHandler): CommandDefinition {
    if (!NAME.test(name)) throw new ControlError(`control command name '${name}' is not valid: use letters, digits and underscores (e.g. 'pool_size')`);
    if (meta.kind !== 'inspect' && meta.kind !== 'control') throw new ControlError(`control command '${name}': kind must be 'inspect' or 'control', got '${String(meta.kind)}'`);
    if (typeof handler !== 'function') throw new ControlError(`control command '${name}' needs a handler function (worker, args) => reply`);
    const args = meta.args ?? [];
    const variadic = args.findIndex((a) => a.variadic);
    if (variadic !== -1 && variadic !== args.length - 1) throw new ControlError(`control command '${name}': only the last argument may be variadic`);
    const def: CommandDefinition = { name, kind: meta.kind, args, help: meta.help ?? '', replies: meta.replies ?? true, aliases: meta.aliases ?? [], hidden: meta.hidden ?? false, timeout: meta.timeout ?? 0, handler };
    this.commands.set(name, def);
    for (const alias of def.aliases) this.aliases.set(alias, name);
    return def;
  }

  get(name: string): CommandDefinition | undefined {
    return this.commands.get(name) ?? this.commands.get(this.aliases.get(name) ?? '');
  }

  /** Visible commands of a kind (or all), sorted by name. */
  list(kind?: CommandKind): CommandDefinition[] {
    return [...this.commands.values()].filter((c) => !c.hidden && (!kind || c.kind === kind)).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** `rate_limit <task_name> <rate_limit>`, `revoke <task_id...> [--terminate]`: the signature for help. */
  static signature(def: CommandDefinition): string {
    const parts = def.args.map((a) => {
      const inner = `${a.name}${a.variadic ? '...' : ''}`;
      return a.required ? `<${inner}>` : `[${inner}]`;
    });
    return [def.name, ...parts].join(' ');
  }

  /** Turns command-line words into the command's arguments, typed by its metadata. */
  static parseWords(def: CommandDefinition, words: readonly string[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    let i = 0;
    for (const arg of def.args) {
      if (arg.variadic) {
        const rest = words.slice(i).map((w) => convert(def.name, arg, w));
        i = words.length;
        if (rest.length) out[arg.name] = rest;
        else if (arg.required) throw new ControlError(`${def.name} needs at least one ${arg.name}: ${CommandRegistry.signature(def)}`);
        continue;
      }
      const word = words[i++];
      if (word === undefined) {
        if (arg.required) throw new ControlError(`${def.name} needs ${arg.name}: ${CommandRegistry.signature(def)}`);
        continue;
      }
      out[arg.name] = convert(def.name, arg, word);
    }
    if (i < words.length) throw new ControlError(`${def.name} takes ${def.args.length} argument(s), got ${words.length}: ${CommandRegistry.signature(def)}`);
    return out;
  }
}

function convert(command: string, arg: CommandArg, word: string): unknown {
  switch (arg.type) {
    case 'string':
      return word;
    case 'number': {
      const n = Number(word);
      if (word.trim() === '' || !Number.isFinite(n)) throw new ControlError(`${command}: ${arg.name} expects a number, got ${JSON.stringify(word)}`);
      return n;
    }
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(word)) return true;
      if (/^(0|false|no|off)$/i.test(word)) return false;
      throw new ControlError(`${command}: ${arg.name} expects true or false, got ${JSON.stringify(word)}`);
    case 'json':
      try {
        return JSON.parse(word) as unknown;
      } catch {
        return word;
      }
  }
}
