import type { RequestContext } from '../pipeline/context.js';
import { traceIdDigits } from './requestIds.js';

/**
 * The client's address, and the forwarding headers integrations receive, as API Gateway sets them:
 * `X-Forwarded-For` is whatever the request carried with the address the edge saw appended (a client's
 * own value is never passed on as if it were the client), `X-Forwarded-Proto` and `X-Forwarded-Port`
 * say how the client reached the gateway, and `X-Amzn-Trace-Id` is the client's (when it has a Root)
 * or a new one.
 *
 * `gateway.trustedProxyHops` (default 0) is how many proxies in front of the edge append to
 * X-Forwarded-For (a load balancer: 1). With N > 0, `sourceIp` is the Nth address from the right of
 * the header (the one the outermost trusted proxy saw), and the proxies' X-Forwarded-Proto/Port are
 * believed; with 0 only the socket's peer is believed and a client's header cannot change `sourceIp`.
 */

/** The address `hops` entries from the right of X-Forwarded-For, or `peer` when the header is shorter or absent. */
export function clientAddress(peer: string, xff: string | undefined, hops: number): string {
  if (hops === 0 || xff === undefined) return peer;
  const list = xff.split(',');
  const addr = list[list.length - hops]?.trim() ?? '';
  return addr === '' ? peer : addr;
}

export function forwardedFor(ctx: RequestContext): string {
  const prior = ctx.headers['x-forwarded-for'];
  return prior ? `${prior}, ${ctx.peerIp}` : ctx.peerIp;
}

export function forwardedProto(ctx: RequestContext): string {
  return (ctx.services.trustedProxyHops > 0 && ctx.headers['x-forwarded-proto']) || 'http';
}

export function forwardedPort(ctx: RequestContext): string {
  return (ctx.services.trustedProxyHops > 0 && ctx.headers['x-forwarded-port']) || String(ctx.services.port);
}

/** The client's `X-Amzn-Trace-Id` when it names a Root, else `Root=1-<epoch seconds hex>-<24 hex of the request id>`. */
export function amznTraceId(ctx: RequestContext): string {
  const given = ctx.headers['x-amzn-trace-id'];
  if (given !== undefined && given.includes('Root=')) return given;
  return `Root=1-${Math.floor(ctx.startTime / 1000).toString(16)}-${traceIdDigits(ctx.requestId)}`;
}

/** The four headers as a flat name/value list, Title-Case as AWS writes them. */
export function forwardingHeaders(ctx: RequestContext): string[] {
  return ['X-Forwarded-For', forwardedFor(ctx), 'X-Forwarded-Proto', forwardedProto(ctx), 'X-Forwarded-Port', forwardedPort(ctx), 'X-Amzn-Trace-Id', amznTraceId(ctx)];
}
