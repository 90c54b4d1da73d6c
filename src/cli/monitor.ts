/**
 * The live terminal view of `celeriac events` (no --dump/--json): a receiver feeds a cluster State, the pure
 * renderMonitor draws it on the alternate screen at most 4 times a second (and on resize), key presses go
 * through handleKey, and revoke/terminate through app.control. The terminal is restored on every exit path.
 */
import { handleKey, renderMonitor, type Celeriac, type MonitorView } from '../index.js';
import { UsageError } from './usage.js';

const FRAME_MS = 250;
const ENTER = '\x1b[?1049h\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';

export interface MonitorStreams {
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
}

/** Runs the view until q / Ctrl-C / SIGTERM; refuses (exit 2) when not on a terminal. */
export async function runMonitor(app: Celeriac, routingKey: string, io: MonitorStreams = { input: process.stdin, output: process.stdout }): Promise<void> {
  const { input, output } = io;
  if (!input.isTTY || !output.isTTY) {
    throw new UsageError('the live view needs a terminal (stdin and stdout a TTY); use --dump (or --json) to print events instead');
  }
  const state = app.events.state();
  const receiver = app.events.receiver({ routingKey });
  let view: MonitorView = { selected: null, detail: false, title: app.describe().broker };
  let stop: () => void = () => undefined;
  let fail: (err: unknown) => void = () => undefined;
  // Resolved by q / Ctrl-C / a signal; rejected by an error while drawing (the terminal is restored either way).
  const stopped = new Promise<void>((resolve, reject) => {
    stop = resolve;
    fail = reject;
  });
  let timer: NodeJS.Timeout | undefined;
  let last = 0;

  const draw = (): void => {
    timer = undefined;
    last = Date.now();
    try {
      const frame = renderMonitor(state, view, { columns: output.columns || 80, rows: output.rows || 24 }, Date.now());
      const lines = frame.lines.map((l, i) => (i === frame.selectedLine ? `\x1b[7m${l.padEnd(output.columns || 80)}\x1b[0m` : l));
      output.write(`\x1b[H${lines.map((l) => `${l}\x1b[K`).join('\r\n')}\x1b[J`);
    } catch (err) {
      fail(err);
    }
  };
  /** Draws now or at the next frame slot: never more often than every FRAME_MS. */
  const schedule = (): void => {
    if (timer) return;
    timer = setTimeout(draw, Math.max(0, last + FRAME_MS - Date.now()));
  };
  const act = async (action: ReturnType<typeof handleKey>['action']): Promise<void> => {
    if (action.type === 'quit') stop();
    else if (action.type === 'clear') state.clear();
    else if (action.type === 'revoke' || action.type === 'terminate') {
      const terminate = action.type === 'terminate';
      try {
        await app.control.revoke(action.uuid, terminate ? { terminate: true, signal: 'SIGTERM' } : {});
        view = { ...view, message: `${terminate ? 'terminate' : 'revoke'} sent for ${action.uuid}` };
      } catch (err) {
        view = { ...view, message: `could not revoke ${action.uuid}: ${err instanceof Error ? err.message : String(err)}` };
      }
    }
    schedule();
  };
  const onKey = (data: Buffer): void => {
    const out = handleKey(data.toString('utf8'), state, view);
    view = out.view;
    void act(out.action);
  };
  receiver.on('event', (e) => {
    state.event(e);
    schedule();
  });
  receiver.on('error', (err) => {
    view = { ...view, message: `event skipped: ${err.message}` };
    schedule();
  });
  // Heartbeat ages and liveness change with time alone.
  const tick = setInterval(schedule, 1000);
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  output.write(ENTER);
  input.setRawMode(true);
  input.resume();
  input.on('data', onKey);
  output.on('resize', schedule);
  try {
    await receiver.start();
    view = { ...view, message: `capturing on queue ${receiver.queue} (routing key ${routingKey})` };
    draw();
    await stopped;
  } finally {
    clearInterval(tick);
    if (timer) clearTimeout(timer);
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    input.off('data', onKey);
    output.off('resize', schedule);
    input.setRawMode(false);
    input.pause();
    output.write(LEAVE);
    await receiver.close();
  }
  output.write(`celeriac events: stopped after ${receiver.received} event(s)\n`);
}
