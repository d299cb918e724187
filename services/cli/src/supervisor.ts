import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

/**
 * `turnpike edge --processes N`: N edge processes on one port, supervised by this process. The children
 * share a port group (generated unless --port-group names one), so the kernel spreads connections over
 * them (SO_REUSEPORT) and no other gateway can join. A child that dies is started again, after a backoff
 * that doubles with each crash in a row (100 ms up to 10 s; a child that ran 30 s resets it). SIGTERM or
 * SIGINT is passed to every child, which drains (gateway.shutdownGraceMs); the supervisor exits once all
 * have, 0 if every one exited 0.
 */
export interface SupervisorOptions {
  processes: number;
  /** `turnpike edge` arguments of every child, without --port, --management-port and --port-group. */
  args: string[];
  port: number | undefined;
  managementPort: number | undefined;
  portGroup: string | undefined;
  /** How long after a stop signal a child that has not exited is killed: the drain grace plus a margin. */
  killAfterMs: number;
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 10_000;
const HEALTHY_AFTER_MS = 30_000;

interface Slot {
  index: number;
  child: ChildProcess | null;
  startedAt: number;
  crashes: number;
  restartTimer: NodeJS.Timeout | null;
}

interface Listening {
  port: number;
  managementPort: number | null;
  pid: number;
}

export async function superviseEdges(o: SupervisorOptions): Promise<number> {
  const group = o.portGroup ?? `edges-${process.pid}-${randomBytes(4).toString('hex')}`;
  // Each child runs this same CLI script (`turnpike edge`).
  const cli = process.argv[1];
  if (cli === undefined) throw new Error('turnpike edge: the supervisor needs the path of the turnpike script (process.argv[1])');
  const slots: Slot[] = Array.from({ length: o.processes }, (_, index) => ({ index, child: null, startedAt: 0, crashes: 0, restartTimer: null }));
  const [firstSlot, ...otherSlots] = slots;
  if (firstSlot === undefined) throw new Error('turnpike edge: the supervisor runs at least one edge process');
  let stopping = false;
  // uWS sets SO_REUSEPORT only on a socket bound to a given port: port 0 is resolved to a free one here.
  let port = o.port === 0 ? await freePort() : o.port;
  let managementPort = o.managementPort;
  const event = (e: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(e)}\n`);

  const childArgs = (): string[] => [
    ...o.args,
    ...(port !== undefined ? ['--port', String(port)] : []),
    ...(managementPort !== undefined ? [`--management-port=${managementPort}`] : []),
    '--port-group',
    group,
  ];

  /** Starts the slot's child; resolves with its listening line, or rejects with its exit code. */
  const start = (slot: Slot): Promise<Listening> => {
    const child = spawn(process.execPath, [...process.execArgv, cli, 'edge', ...childArgs()], { stdio: ['ignore', 'pipe', 'inherit'] });
    slot.child = child;
    slot.startedAt = Date.now();
    return new Promise((resolve, reject) => {
      let listening = false;
      // The children's listening lines are the supervisor's to announce; every other line passes through.
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (!listening && line.startsWith('{"event":"listening"')) {
          listening = true;
          const info = JSON.parse(line) as Listening;
          event({ event: 'edge-listening', process: slot.index, pid: info.pid, port: info.port });
          resolve(info);
          return;
        }
        process.stdout.write(`${line}\n`);
      });
      child.once('exit', (code, signal) => {
        slot.child = null;
        if (!listening) reject(new Error(`edge process ${slot.index} exited (${signal ?? code}) before listening`));
        else if (!stopping) restartLater(slot, code, signal);
      });
    });
  };

  const restartLater = (slot: Slot, code: number | null, signal: NodeJS.Signals | null) => {
    if (Date.now() - slot.startedAt > HEALTHY_AFTER_MS) slot.crashes = 0;
    const delayMs = Math.min(BACKOFF_MIN_MS * 2 ** slot.crashes, BACKOFF_MAX_MS);
    slot.crashes++;
    event({ event: 'edge-exited', process: slot.index, code, signal, restartInMs: delayMs });
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      if (stopping) return;
      start(slot).then(
        (info) => event({ event: 'edge-restarted', process: slot.index, pid: info.pid }),
        // A child that cannot even listen again is retried with a longer backoff.
        () => restartLater(slot, null, null),
      );
    }, delayMs);
  };

  const stopAll = async (signal: NodeJS.Signals): Promise<boolean> => {
    stopping = true;
    for (const s of slots) if (s.restartTimer) clearTimeout(s.restartTimer);
    const exits = slots
      .map((s) => s.child)
      .filter((c): c is ChildProcess => c !== null && c.exitCode === null && c.signalCode === null)
      .map(
        (c) =>
          new Promise<boolean>((resolve) => {
            const killer = setTimeout(() => c.kill('SIGKILL'), o.killAfterMs);
            c.once('exit', (code) => {
              clearTimeout(killer);
              resolve(code === 0);
            });
            c.kill(signal);
          }),
      );
    return (await Promise.all(exits)).every(Boolean);
  };

  // The first child picks the port when it was 0 (or the config's); the others are given the one it bound.
  let first: Listening;
  try {
    first = await start(firstSlot);
    port = first.port;
    if (managementPort === 0 && first.managementPort !== null) managementPort = first.managementPort;
    await Promise.all(otherSlots.map(start));
  } catch (err) {
    await stopAll('SIGTERM');
    console.error(`turnpike edge: ${(err as Error).message}`);
    return 1;
  }
  event({ event: 'listening', port, managementPort: first.managementPort, pid: process.pid, processes: slots.map((s) => s.child?.pid ?? null), portGroup: group });

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM')).once('SIGINT', () => resolve('SIGINT'));
  });
  // A second signal kills the children at once.
  const force = () => slots.forEach((s) => s.child?.kill('SIGKILL'));
  process.once('SIGTERM', force).once('SIGINT', force);
  const clean = await stopAll('SIGTERM');
  event({ event: 'stopped', signal, clean });
  return clean ? 0 : 1;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
