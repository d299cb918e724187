import type { AuthRequest } from './authRequest.js';
import type { Verdict } from './verdict.js';

/**
 * One configured authorizer, built once per API and shared by its routes (and by the WebSocket
 * `$connect` route). `authorize` answers synchronously when it can (a cached policy on this node) and
 * with a Promise otherwise; a rejection is a gateway fault (500, cause logged).
 */
export interface Authorizer {
  readonly name: string;
  /**
   * `methodArn` is the ARN of the method being called now: cached policies are evaluated against it,
   * not against the method they were first issued for. `scopes` are the route's required scopes (JWT).
   */
  authorize(req: AuthRequest, methodArn: string, scopes: readonly string[] | null): Verdict | Promise<Verdict>;
}
