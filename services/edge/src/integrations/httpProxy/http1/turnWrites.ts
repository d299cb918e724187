/** A connection with a request head to write once the turn's events are handled. */
export interface DeferredWrite {
  writeDeferred(): void;
}

/**
 * The upstream request writes of one event-loop turn, made one after the other once the turn's socket
 * events are handled (setImmediate: the check phase after the poll phase that ran them), instead of
 * each in its own client request's callback.
 *
 * Why: an upstream faster than the edge's own work per request drains the one request it was handed,
 * goes to sleep, and the next write has to wake it. Waking a sleeping process is the sender's
 * cost, and on the slower guests measured here it was the edge's largest kernel cost. Written
 * back to back, the turn's requests wake the upstream once. Held edges, wrk -c64 against a uWS upstream
 * (loadtests/README.md): the upstream slept 0.63-0.69 times per proxied request and 0.05 with the
 * writes deferred; the edge's CPU per request was 0.91-0.93× and its requests/s 1.08-1.12×.
 * What it costs: a request waits for the rest of its turn's requests to be routed before its head goes
 * out; when there is just one, only for the rest of that turn.
 */
export class TurnWrites {
  private readonly pending: DeferredWrite[] = [];
  private scheduled = false;
  private readonly flushAll = (): void => this.flush();

  add(w: DeferredWrite): void {
    this.pending.push(w);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushAll);
    }
  }

  private flush(): void {
    const pending = this.pending;
    // A write that fails makes its connection fail its request, which may send a queued request on a new
    // connection: that write is added here, and the array iterator reaches it in this same pass.
    for (const w of pending) w.writeDeferred();
    pending.length = 0;
    this.scheduled = false;
  }
}
