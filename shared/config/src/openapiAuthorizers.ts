import { isObj, type Obj } from '@turnpike/codec';
import { formatPath, type ConfigIssue } from './errors.js';
import { lineOf, zodIssues, type SourceDoc } from './source.js';
import { Authorizer, type AuthorizerConfig } from './schema.js';

/**
 * `components.securitySchemes` entries with `x-amazon-apigateway-authtype` / `x-amazon-apigateway-authorizer`
 * (Lambda TOKEN and REQUEST authorizers of REST APIs; Lambda and JWT authorizers of HTTP APIs), mapped onto
 * Turnpike authorizers of the same name. Operations name them in `security`.
 */

type Report = (path: PropertyKey[], message: string) => void;

const AUTHORIZER_FIELDS: Record<string, readonly string[]> = {
  token: ['type', 'authorizerUri', 'identitySource', 'identityValidationExpression', 'authorizerResultTtlInSeconds', 'authorizerCredentials'],
  request: ['type', 'authorizerUri', 'identitySource', 'authorizerResultTtlInSeconds', 'authorizerCredentials', 'authorizerPayloadFormatVersion', 'enableSimpleResponses'],
  jwt: ['type', 'jwtConfiguration', 'identitySource'],
};

/**
 * The function an `authorizerUri` invokes: the Lambda name from
 * `arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/arn:aws:lambda:REGION:ACCOUNT:function:NAME/invocations`,
 * a bare Lambda ARN, or a plain function name.
 */
export function functionNameFromUri(uri: string): string | undefined {
  const arn = /arn:aws[a-z-]*:lambda:[^:]*:[^:]*:function:([A-Za-z0-9_-]+)/.exec(uri);
  if (arn) return arn[1];
  return /^[A-Za-z0-9_.-]+$/.test(uri) ? uri : undefined;
}

/** Maps one security scheme; returns undefined (after a warning or an issue) when it is not an authorizer. */
export function importAuthorizer(src: SourceDoc, scheme: Obj, where: PropertyKey[], warn: Report, issues: ConfigIssue[]): AuthorizerConfig | undefined {
  const authtype = scheme['x-amazon-apigateway-authtype'];
  const x = scheme['x-amazon-apigateway-authorizer'];
  for (const key of Object.keys(scheme)) {
    if (key.startsWith('x-amazon-apigateway-') && key !== 'x-amazon-apigateway-authtype' && key !== 'x-amazon-apigateway-authorizer') warn([...where, key], `extension ${key} is not supported yet and is ignored`);
  }
  if (!isObj(x)) {
    if (authtype !== undefined) warn([...where, 'x-amazon-apigateway-authtype'], `authtype ${String(authtype)} without an x-amazon-apigateway-authorizer is not supported and is ignored`);
    return undefined;
  }
  const at = [...where, 'x-amazon-apigateway-authorizer'];
  const type = String(x.type ?? '').toLowerCase();
  const known = AUTHORIZER_FIELDS[type];
  if (!known) {
    // cognito_user_pools and anything newer: named, never silently dropped.
    warn([...at, 'type'], `authorizer type "${String(x.type)}" is not supported (supported: token, request, jwt) and is ignored`);
    return undefined;
  }
  for (const key of Object.keys(x)) {
    if (!known.includes(key)) warn([...at, key], `authorizer field ${key} is not supported for type ${type} and is ignored`);
  }
  if ('authorizerCredentials' in x) warn([...at, 'authorizerCredentials'], 'authorizerCredentials is ignored: functions run on Turnpike workers without IAM roles');

  let candidate: Obj;
  const ttl = x.authorizerResultTtlInSeconds === undefined ? {} : { resultTtlSeconds: Number(x.authorizerResultTtlInSeconds) };
  if (type === 'jwt') {
    const jwt = isObj(x.jwtConfiguration) ? x.jwtConfiguration : {};
    const audience = jwt.audience;
    candidate = {
      type: 'jwt',
      issuer: jwt.issuer,
      audiences: Array.isArray(audience) ? audience : audience === undefined ? [] : [audience],
      ...(x.identitySource !== undefined ? { identitySource: firstSource(x.identitySource) } : {}),
    };
  } else {
    const uri = String(x.authorizerUri ?? '');
    const fn = functionNameFromUri(uri);
    if (!fn) {
      const path = [...at, 'authorizerUri'];
      issues.push({ file: src.file, path: formatPath(path), line: lineOf(src, path), message: `authorizerUri "${uri}" names no Lambda function (arn:...:function:NAME/invocations or a function name)` });
      return undefined;
    }
    if (type === 'token') {
      const header = scheme.in === 'header' && typeof scheme.name === 'string' ? `method.request.header.${scheme.name}` : undefined;
      const source = x.identitySource !== undefined ? firstSource(x.identitySource) : header;
      candidate = {
        type: 'token',
        function: fn,
        ...(source !== undefined ? { identitySource: source } : {}),
        ...(x.identityValidationExpression !== undefined ? { identityValidationExpression: x.identityValidationExpression } : {}),
        ...ttl,
      };
    } else {
      candidate = {
        type: 'request',
        function: fn,
        identitySource: x.identitySource ?? [],
        ...ttl,
        ...(x.authorizerPayloadFormatVersion !== undefined ? { payloadFormatVersion: String(x.authorizerPayloadFormatVersion) } : {}),
        ...(x.enableSimpleResponses !== undefined ? { enableSimpleResponses: x.enableSimpleResponses } : {}),
      };
    }
  }
  const parsed = Authorizer.safeParse(candidate);
  if (!parsed.success) {
    // Point at the extension's own field names where they differ from Turnpike's.
    const rename: Record<string, string> = { resultTtlSeconds: 'authorizerResultTtlInSeconds', function: 'authorizerUri', payloadFormatVersion: 'authorizerPayloadFormatVersion', issuer: 'jwtConfiguration.issuer', audiences: 'jwtConfiguration.audience' };
    issues.push(
      ...zodIssues(src, parsed.error, at).map((i) => {
        const field = Object.keys(rename).find((k) => i.path.endsWith(`.${k}`) || i.path.includes(`.${k}[`));
        return field ? { ...i, path: i.path.replace(`.${field}`, `.${rename[field]}`) } : i;
      }),
    );
    return undefined;
  }
  return parsed.data;
}

/**
 * The authorizer an operation's `security` requirements name (the first that is an imported authorizer)
 * and, for JWT authorizers, its scopes.
 */
export function routeAuthorization(
  security: unknown[],
  authorizers: Readonly<Record<string, AuthorizerConfig>>,
  where: PropertyKey[],
  warn: Report,
): { authorizer?: string; authorizationScopes?: string[] } {
  const named: [string, unknown][] = [];
  for (const req of security) if (isObj(req)) for (const [s, scopes] of Object.entries(req)) if (s in authorizers) named.push([s, scopes]);
  if (named.length === 0) return {};
  if (named.length > 1) warn([...where, 'security'], `several authorizers (${named.map(([s]) => s).join(', ')}); only the first, ${named[0]![0]}, is used`);
  const [name, scopes] = named[0]!;
  const list = Array.isArray(scopes) ? scopes.map(String) : [];
  if (list.length && authorizers[name]!.type !== 'jwt') {
    warn([...where, 'security'], `scopes on authorizer ${name} are ignored: scopes apply to jwt authorizers only`);
    return { authorizer: name };
  }
  return list.length ? { authorizer: name, authorizationScopes: list } : { authorizer: name };
}

function firstSource(v: unknown): unknown {
  return Array.isArray(v) ? v[0] : typeof v === 'string' ? v.split(',')[0]!.trim() : v;
}
