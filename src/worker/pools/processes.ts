/** The processes pool (Celery's prefork): N child processes that each load the app module and run tasks. */
import { fork } from 'node:child_process';
import { ChildPool, type ChildHandle } from './children.js';
import { childEntry } from './entry.js';
import { BOOT_ENV, type ChildBoot, type FromChild } from './messages.js';

export class ProcessPool extends ChildPool {
  readonly name = 'processes';

  override pidOf(taskId: string): number {
    return this.childOf(taskId)?.pid ?? process.pid;
  }

  protected spawn(boot: ChildBoot): ChildHandle {
    const entry = childEntry();
    const child = fork(entry.url, [], {
      execArgv: entry.tsxLoader ? ['--import', entry.tsxLoader] : [],
      env: { ...process.env, [BOOT_ENV]: JSON.stringify(boot) },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let exit: string | undefined;
    const waiters: ((how: string) => void)[] = [];
    child.once('exit', (code, signal) => {
      exit = signal ? `signal ${signal}` : `exit code ${code}`;
      for (const w of waiters.splice(0)) w(exit);
    });
    child.on('error', () => undefined);
    return {
      pid: child.pid ?? -1,
      send: (msg) => {
        if (child.connected) child.send(msg);
      },
      kill: (signal) => void child.kill((signal ?? 'SIGTERM') as NodeJS.Signals),
      onMessage: (fn) => child.on('message', (m) => fn(m as FromChild)),
      onExit: (fn) => (exit === undefined ? waiters.push(fn) : fn(exit)),
    };
  }
}
