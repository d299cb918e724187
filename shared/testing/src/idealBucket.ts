/**
 * What an ideal single token bucket (`rate` per second, `burst`, full at the first arrival) decides for
 * requests arriving at `times` (ms, sorted): true for each one it admits. Throttle tests hold the
 * distributed limiter to this for the arrivals that really happened: on an idle machine the clients keep
 * demand above the rate and the bucket admits rate × T + burst, but on a busy one clients stall (a cold
 * start, a slow answer), the bucket sits full and refills are lost, so rate × T + burst would overstate
 * what any correct limiter admits.
 */
export function idealBucketDecisions(times: readonly number[], rate: number, burst: number): boolean[] {
  let tokens = burst;
  let last = times[0] ?? 0;
  return times.map((t) => {
    tokens = Math.min(burst, tokens + ((t - last) * rate) / 1000);
    last = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  });
}
