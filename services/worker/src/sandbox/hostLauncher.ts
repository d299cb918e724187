import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * How host processes are started so that they die with their worker.
 *
 * A host is a child of the worker. If the worker is SIGKILLed (or OOM-killed) it cleans nothing up, and a
 * host whose handler is spinning never runs its IPC `disconnect` listener (its event loop is blocked), so
 * it would be re-parented to PID 1 and spin forever. The kernel's parent-death signal
 * (`prctl(PR_SET_PDEATHSIG)`) covers exactly this, whatever the host's JavaScript is doing, and costs
 * nothing; Node has no API for it, so the host is started through util-linux's `setpriv --pdeathsig KILL`,
 * which sets it and execs Node in the same process (same pid, still the worker's child, the IPC channel
 * inherited). The host then checks at start that its parent is still the worker, which closes the window
 * between the fork and the prctl. util-linux is essential in Debian, so the container image has setpriv;
 * where it is missing (macOS, minimal images) hosts start as plain children and the worker says so once.
 */
export interface HostLauncher {
  /** The program to exec in place of Node (setpriv), or Node itself. */
  readonly execPath: string;
  /** Arguments before Node's own (`--pdeathsig KILL -- NODE`), empty for a plain fork. */
  readonly prefix: readonly string[];
  /** True when hosts get a parent-death signal. */
  readonly diesWithWorker: boolean;
}

export function hostLauncher(env: NodeJS.ProcessEnv = process.env): HostLauncher {
  const setpriv = process.platform === 'linux' ? findOnPath('setpriv', env.PATH ?? '/usr/bin:/bin') : null;
  if (setpriv === null) return { execPath: process.execPath, prefix: [], diesWithWorker: false };
  return { execPath: setpriv, prefix: ['--pdeathsig', 'KILL', '--', process.execPath], diesWithWorker: true };
}

function findOnPath(name: string, path: string): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  return null;
}
