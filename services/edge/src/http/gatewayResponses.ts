/**
 * Every answer the gateway itself makes (as opposed to an integration's), for both kinds of API, in one
 * table: docs/aws-behaviour.md prints the same table. Stages name the situation by API Gateway's
 * GatewayResponseType (`MISSING_AUTHENTICATION_TOKEN`, `THROTTLED`...); the API's kind decides the status,
 * body and `x-amzn-ErrorType`. A REST API's `x-amazon-apigateway-gateway-responses` customise exactly
 * these entries by type (gatewayResponses/gatewayResponses.ts renders them over these defaults).
 */

/** REST APIs (payload 1.0 era, `x-amz-apigw-id`) or HTTP APIs (`apigw-requestid`, terser errors). */
export type ApiKind = 'rest' | 'http';

/** API Gateway's GatewayResponseType names (REST `PutGatewayResponse`), the ones Turnpike can produce. */
export const GATEWAY_RESPONSE_TYPES = [
  'ACCESS_DENIED',
  'API_CONFIGURATION_ERROR',
  'AUTHORIZER_CONFIGURATION_ERROR',
  'AUTHORIZER_FAILURE',
  'BAD_REQUEST_BODY',
  'BAD_REQUEST_PARAMETERS',
  'DEFAULT_4XX',
  'DEFAULT_5XX',
  'INTEGRATION_FAILURE',
  'INTEGRATION_TIMEOUT',
  'INVALID_API_KEY',
  'MISSING_AUTHENTICATION_TOKEN',
  'QUOTA_EXCEEDED',
  'REQUEST_TOO_LARGE',
  'RESOURCE_NOT_FOUND',
  'THROTTLED',
  'UNAUTHORIZED',
  'UNSUPPORTED_MEDIA_TYPE',
] as const;
export type GatewayResponseType = (typeof GATEWAY_RESPONSE_TYPES)[number];

/** One row of the table: the status, the `message` of the JSON body (null as AWS sends it), and the error type header. */
export interface GatewayResponseDefault {
  readonly status: number;
  readonly message: string | null;
  readonly errorType: string;
}

type Table = { readonly [T in GatewayResponseType]: GatewayResponseDefault };

const row = (status: number, message: string | null, errorType: string): GatewayResponseDefault => ({ status, message, errorType });

/** REST APIs: AWS's default gateway responses. */
export const REST_RESPONSES: Table = {
  ACCESS_DENIED: row(403, 'User is not authorized to access this resource', 'AccessDeniedException'),
  API_CONFIGURATION_ERROR: row(500, 'Internal server error', 'InternalServerErrorException'),
  AUTHORIZER_CONFIGURATION_ERROR: row(500, null, 'AuthorizerConfigurationException'),
  AUTHORIZER_FAILURE: row(500, null, 'AuthorizerFailureException'),
  BAD_REQUEST_BODY: row(400, 'Bad Request', 'BadRequestException'),
  BAD_REQUEST_PARAMETERS: row(400, 'Bad Request', 'BadRequestException'),
  DEFAULT_4XX: row(400, 'Bad Request', 'BadRequestException'),
  DEFAULT_5XX: row(500, 'Internal server error', 'InternalServerErrorException'),
  INTEGRATION_FAILURE: row(502, 'Internal server error', 'InternalServerErrorException'),
  INTEGRATION_TIMEOUT: row(504, 'Endpoint request timed out', 'InternalServerErrorException'),
  INVALID_API_KEY: row(403, 'Forbidden', 'ForbiddenException'),
  MISSING_AUTHENTICATION_TOKEN: row(403, 'Missing Authentication Token', 'MissingAuthenticationTokenException'),
  QUOTA_EXCEEDED: row(429, 'Limit Exceeded', 'LimitExceededException'),
  REQUEST_TOO_LARGE: row(413, 'Request Entity Too Large', 'RequestEntityTooLargeException'),
  RESOURCE_NOT_FOUND: row(404, 'Not Found', 'NotFoundException'),
  THROTTLED: row(429, 'Too Many Requests', 'TooManyRequestsException'),
  UNAUTHORIZED: row(401, 'Unauthorized', 'UnauthorizedException'),
  UNSUPPORTED_MEDIA_TYPE: row(415, 'Unsupported Media Type', 'UnsupportedMediaTypeException'),
};

/**
 * HTTP APIs: an unknown route is 404 (not REST's 403), every 5xx is the same terse `Internal Server
 * Error`, and an integration timeout is 503.
 */
export const HTTP_RESPONSES: Table = {
  ...REST_RESPONSES,
  ACCESS_DENIED: row(403, 'Forbidden', 'AccessDeniedException'),
  API_CONFIGURATION_ERROR: row(500, 'Internal Server Error', 'InternalServerErrorException'),
  AUTHORIZER_CONFIGURATION_ERROR: row(500, 'Internal Server Error', 'AuthorizerConfigurationException'),
  AUTHORIZER_FAILURE: row(500, 'Internal Server Error', 'AuthorizerFailureException'),
  DEFAULT_5XX: row(500, 'Internal Server Error', 'InternalServerErrorException'),
  INTEGRATION_FAILURE: row(500, 'Internal Server Error', 'InternalServerErrorException'),
  INTEGRATION_TIMEOUT: row(503, 'Service Unavailable', 'ServiceUnavailableException'),
  MISSING_AUTHENTICATION_TOKEN: row(404, 'Not Found', 'NotFoundException'),
};

const EXPLICIT_DENY_MESSAGE = 'User is not authorized to access this resource with an explicit deny';
/** AWS answers an explicit Deny in an authorizer's policy with this body, capital `M` included. */
export const EXPLICIT_DENY_BODY = `{"Message":${JSON.stringify(EXPLICIT_DENY_MESSAGE)}}`;

/** One compiled answer, ready to write. */
export interface GatewayAnswer {
  readonly type: GatewayResponseType;
  readonly status: number;
  /** `$context.error.message` for a customised response's template. */
  readonly message: string | null;
  /** Flat name/value list: content-type, x-amzn-ErrorType, then any customised headers. */
  readonly headers: readonly string[];
  readonly body: string;
}

/** An API's gateway answers, built once per API (and per deployment) when its routes are compiled. */
export class DefaultGatewayResponses {
  private readonly answers: ReadonlyMap<GatewayResponseType, GatewayAnswer>;

  constructor(readonly kind: ApiKind) {
    const table = kind === 'http' ? HTTP_RESPONSES : REST_RESPONSES;
    const answers = new Map<GatewayResponseType, GatewayAnswer>();
    for (const type of GATEWAY_RESPONSE_TYPES) {
      const d = table[type];
      const headers = Object.freeze(['content-type', 'application/json', 'x-amzn-ErrorType', d.errorType]);
      answers.set(type, Object.freeze({ type, status: d.status, message: d.message, headers, body: `{"message":${JSON.stringify(d.message)}}` }));
    }
    this.answers = answers;
    const denied = answers.get('ACCESS_DENIED')!;
    // REST APIs answer an explicit Deny with a body of their own (a customised ACCESS_DENIED still wins).
    this.denied = kind === 'rest' ? Object.freeze({ ...denied, message: EXPLICIT_DENY_MESSAGE, body: EXPLICIT_DENY_BODY }) : denied;
  }

  private readonly denied: GatewayAnswer;

  /** ACCESS_DENIED for a policy with an explicit Deny on the method (no matching Allow is plain ACCESS_DENIED). */
  explicitDeny(): GatewayAnswer {
    return this.denied;
  }

  answer(type: GatewayResponseType): GatewayAnswer {
    return this.answers.get(type)!;
  }

  /**
   * A gateway answer for a status no response type names (400 for a malformed request line, 408, 431,
   * 503 while Redis is down): DEFAULT_4XX / DEFAULT_5XX's headers with the status and its reason.
   */
  byStatus(status: number, message: string): GatewayAnswer {
    const base = this.answer(status < 500 ? 'DEFAULT_4XX' : 'DEFAULT_5XX');
    const headers = base.headers.slice();
    const errorType = STATUS_ERROR_TYPES[status];
    if (errorType !== undefined) headers[3] = errorType;
    return { type: base.type, status, message, headers, body: `{"message":${JSON.stringify(message)}}` };
  }
}

/** `x-amzn-ErrorType` for the statuses answered by `byStatus`. */
const STATUS_ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'BadRequestException',
  408: 'RequestTimeoutException',
  413: 'RequestEntityTooLargeException',
  415: 'UnsupportedMediaTypeException',
  431: 'RequestHeaderFieldsTooLargeException',
  500: 'InternalServerErrorException',
  502: 'BadGatewayException',
  503: 'ServiceUnavailableException',
  504: 'GatewayTimeoutException',
};

export const REST_GATEWAY_RESPONSES = new DefaultGatewayResponses('rest');
