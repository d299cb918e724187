import { isCluster, type RedisClient } from '@turnpike/redis';
import type { Logger } from 'pino';

/** How long one BLMPOP waits on an empty list before the loop asks again (stop() unblocks it at once). */
const BLOCK_SECONDS = 2;

/**
 * One function's sync lane on one worker: a loop that takes invocations off the function's sync list
 * (`<prefix>:fn:{name}:sync`, filled by edge nodes with function-enqueue-2.lua) with a blocking
 * `BLMPOP ... COUNT n` on its own connection, n being the free slots, and hands each to `run`. While it
 * holds more jobs than `lowWater` (the function's hosts: jobs wait for a host) it takes no more, so a busy
 * lane takes jobs in batches (one round trip per batch, not per job) while the jobs in hand keep the
 * hosts busy. A job popped is this worker's alone: if the worker dies before replying, the waiting edge
 * answers 504 at the integration timeout (at most once, as a sync invocation is).
 */
export class SyncLane {
  private inFlight = 0;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private clientId: number | null = null;
  /** Wakes the loop when the jobs in hand fall to `lowWater`, or when stopping. */
  private wake: (() => void) | null = null;
  private drained: (() => void) | null = null;

  constructor(
    private readonly listKey: string,
    private readonly maxInFlight: number,
    private readonly lowWater: number,
    private readonly reader: RedisClient,
    private readonly run: (job: Buffer) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    // On Redis Cluster the BLMPOP goes to the node of the list's slot, which a CLIENT command sent through
    // the Cluster client need not reach: there stop() waits out the block (at most BLOCK_SECONDS).
    this.clientId = isCluster(this.reader) ? null : ((await this.reader.client('ID')) as number);
    this.loop = this.read();
  }

  /** Takes no more jobs, then resolves once every job taken has been run. */
  async stop(control: RedisClient): Promise<void> {
    this.stopping = true;
    this.wake?.();
    if (this.loop !== null) {
      let done = false;
      const loop = this.loop.then(() => (done = true));
      // Unblock the pending BLMPOP as if it timed out (nothing popped is lost); again in case it had not
      // reached Redis yet when the first UNBLOCK did.
      while (!done && this.clientId !== null) {
        await control.client('UNBLOCK', this.clientId).catch(() => 0);
        await Promise.race([loop, new Promise((r) => setTimeout(r, 50))]);
      }
      await loop;
    }
    if (this.inFlight > 0) await new Promise<void>((r) => (this.drained = r));
    this.reader.disconnect();
  }

  private async read(): Promise<void> {
    while (!this.stopping) {
      if (this.inFlight > this.lowWater) {
        await new Promise<void>((r) => (this.wake = r));
        continue;
      }
      const free = this.maxInFlight - this.inFlight;
      let res: [Buffer, Buffer[]] | null;
      try {
        res = await this.reader.blmpopBuffer(BLOCK_SECONDS, 1, this.listKey, 'RIGHT', 'COUNT', free);
      } catch (err) {
        if (this.stopping) return;
        this.logger.warn({ err, list: this.listKey }, 'reading sync invocations failed; retrying');
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (res === null) continue;
      for (const job of res[1]) {
        this.inFlight++;
        void this.run(job)
          .catch((err: unknown) => this.logger.error({ err, list: this.listKey }, 'a sync invocation failed in the worker'))
          .finally(() => this.finished());
      }
    }
  }

  private finished(): void {
    this.inFlight--;
    if (this.wake !== null && this.inFlight <= this.lowWater) {
      const wake = this.wake;
      this.wake = null;
      wake();
    }
    if (this.inFlight === 0 && this.drained !== null) this.drained();
  }
}
