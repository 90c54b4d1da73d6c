// The CLI loads one sub-command's file for that command; every file must register exactly the command of its name.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, COMMANDS } from '../../../src/cli/program.js';

describe('CLI sub-commands loaded by name', () => {
  it.each(Object.keys(COMMANDS))('%s: its file registers exactly that command', async (name) => {
    const program = new Command('x');
    (await (COMMANDS[name] as () => Promise<(p: Command) => void>)())(program);
    expect(program.commands.map((c) => c.name())).toEqual([name]);
  });

  it('builds only the named command, all of them without one or for an unknown name', async () => {
    const names = (p: Command): string[] => p.commands.map((c) => c.name());
    expect(names(await buildProgram(['node', 'celeriac', 'worker', '-c', '1']))).toEqual(['worker']);
    expect(names(await buildProgram(['node', 'celeriac', '--help']))).toEqual(Object.keys(COMMANDS));
    expect(names(await buildProgram(['node', 'celeriac', 'wroker']))).toEqual(Object.keys(COMMANDS));
    expect(names(await buildProgram(['node', 'celeriac', 'help', 'worker']))).toEqual(Object.keys(COMMANDS));
  });
});
