/**
 * What an authorizer may read about a request. The HTTP pipeline adapts its RequestContext; the
 * WebSocket `$connect` route builds one from the upgrade request. Names are lowercased.
 */
export interface AuthRequest {
  readonly requestId: string;
  readonly method: string;
  /** The path below the stage, as received (`/pets/42`); what method ARNs name. */
  readonly path: string;
  /** The whole request path (`/prod/pets/42`), for `requestContext.path`. */
  readonly fullPath: string;
  /** The route's resource template (`/pets/{id}`, or `$connect`). */
  readonly resourcePath: string;
  /** `GET /pets/{id}` (or `$connect`), for payload 2.0 events. */
  readonly routeKey: string;
  readonly headers: Readonly<Record<string, string>>;
  /** name, value, name, value... with repeated headers kept apart. */
  readonly rawHeaders: readonly string[];
  /** The query string without `?`. */
  readonly query: string;
  readonly pathParameters: Readonly<Record<string, string>> | null;
  readonly apiId: string;
  readonly stage: string;
  readonly stageVariables: Readonly<Record<string, string>>;
  readonly sourceIp: string;
  readonly domainName: string;
  readonly requestTimeEpoch: number;
  /** Told about each policy-cache lookup (hit: the authorizer did not run), for metrics. */
  onCacheLookup?(hit: boolean): void;
}
