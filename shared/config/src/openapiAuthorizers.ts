import { isObj, type Obj } from '@turnpike/codec/plain';
import type { ConfigIssue } from './errors.js';
import { lineOf, sourcePath, zodIssues, type SourceDoc } from './source.js';
import { Authorizer, SCOPED_AUTHORIZERS, type AuthorizerConfig } from './schema.js';

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
  cognito_user_pools: ['type', 'providerARNs', 'identitySource', 'authorizerResultTtlInSeconds'],
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
    // A route naming it would be open: refused, never dropped.
    const path = [...at, 'type'];
    issues.push({ file: src.file, path: sourcePath(src, path), line: lineOf(src, path), message: `authorizer type "${String(x.type)}" cannot be enforced by Turnpike (supported: token, request, jwt, cognito_user_pools)` });
    return undefined;
  }
  for (const key of Object.keys(x)) {
    if (!known.includes(key)) warn([...at, key], `authorizer field ${key} is not supported for type ${type} and is ignored`);
  }
  if ('authorizerCredentials' in x) warn([...at, 'authorizerCredentials'], 'authorizerCredentials is ignored: functions run on Turnpike workers without IAM roles');

  let candidate: Obj;
  const ttl = x.authorizerResultTtlInSeconds === undefined ? {} : { resultTtlSeconds: Number(x.authorizerResultTtlInSeconds) };
  if (type === 'cognito_user_pools') {
    candidate = {
      type: 'cognito_user_pools',
      userPools: x.providerARNs,
      ...(x.identitySource !== undefined && x.identitySource !== '' ? { identitySource: firstSource(x.identitySource) } : {}),
    };
  } else if (type === 'jwt') {
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
      issues.push({ file: src.file, path: sourcePath(src, path), line: lineOf(src, path), message: `authorizerUri "${uri}" names no Lambda function (arn:...:function:NAME/invocations or a function name)` });
      return undefined;
    }
    if (type === 'token') {
      const header = scheme.in === 'header' && typeof scheme.name === 'string' ? `method.request.header.${scheme.name}` : undefined;
      // Pulumi writes `identitySource: ""`; AWS then reads the scheme's header, as with no identitySource.
      const source = x.identitySource !== undefined && x.identitySource !== '' ? firstSource(x.identitySource) : header;
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
    const rename: Record<string, string> = { userPools: 'providerARNs', resultTtlSeconds: 'authorizerResultTtlInSeconds', function: 'authorizerUri', payloadFormatVersion: 'authorizerPayloadFormatVersion', issuer: 'jwtConfiguration.issuer', audiences: 'jwtConfiguration.audience' };
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

/** What a security scheme of the document means to a route that requires it. */
export type SchemeMeaning =
  | { kind: 'authorizer'; authorizer: AuthorizerConfig }
  | { kind: 'apiKey' }
  /** Already reported as an issue (an authorizer that failed to import). */
  | { kind: 'invalid' }
  | { kind: 'unenforceable'; what: string };

/** A plain `x-api-key` header scheme means "API key required"; an authorizer scheme of that header name does not. */
export function schemeMeaning(scheme: Obj, authorizer: AuthorizerConfig | undefined): SchemeMeaning {
  if (authorizer) return { kind: 'authorizer', authorizer };
  const authtype = scheme['x-amazon-apigateway-authtype'];
  if ('x-amazon-apigateway-authorizer' in scheme) return { kind: 'invalid' };
  if (authtype === undefined && scheme.type === 'apiKey' && scheme.in === 'header' && String(scheme.name).toLowerCase() === 'x-api-key') return { kind: 'apiKey' };
  if (typeof authtype === 'string' && authtype.toLowerCase() === 'awssigv4') return { kind: 'unenforceable', what: 'IAM authorization (awsSigv4)' };
  return { kind: 'unenforceable', what: `a security scheme of type ${JSON.stringify(scheme.type)}${authtype !== undefined ? ` (authtype ${String(authtype)})` : ''} without an authorizer Turnpike runs` };
}

/**
 * What an operation's `security` asks for. AWS exports write an API key and an authorizer as separate
 * requirement objects although both apply, so every scheme named is required. A requirement Turnpike
 * cannot enforce is an error: ignoring it would serve the route to anyone.
 */
export function routeAuthorization(
  security: unknown[],
  schemes: ReadonlyMap<string, SchemeMeaning>,
  where: PropertyKey[],
  warn: Report,
  fail: Report,
): { authorizer?: string; authorizationScopes?: string[]; apiKeyRequired: boolean } {
  const named: [string, unknown][] = [];
  let apiKeyRequired = false;
  for (const req of security) {
    if (!isObj(req)) continue;
    for (const [s, scopes] of Object.entries(req)) {
      const meaning = schemes.get(s);
      if (meaning === undefined) fail([...where, 'security'], `security requirement ${s} names no scheme in components.securitySchemes (securityDefinitions): it cannot be enforced`);
      else if (meaning.kind === 'authorizer') named.push([s, scopes]);
      else if (meaning.kind === 'apiKey') apiKeyRequired = true;
      else if (meaning.kind === 'unenforceable') fail([...where, 'security'], `security requirement ${s} is ${meaning.what}, which Turnpike cannot enforce; the route would be open (remove the requirement or use a token, request, jwt or cognito_user_pools authorizer)`);
    }
  }
  const [first, ...others] = named;
  if (first === undefined) return { apiKeyRequired };
  if (others.length > 0) {
    fail([...where, 'security'], `several authorizers (${named.map(([s]) => s).join(', ')}) on one operation: Turnpike, like API Gateway, runs one authorizer per route`);
    return { apiKeyRequired };
  }
  const [name, scopes] = first;
  const list = Array.isArray(scopes) ? scopes.map(String) : [];
  const meaning = schemes.get(name) as { authorizer: AuthorizerConfig };
  if (list.length && !SCOPED_AUTHORIZERS.has(meaning.authorizer.type)) {
    // API Gateway ignores scopes on Lambda authorizers too.
    warn([...where, 'security'], `scopes on authorizer ${name} are ignored: scopes apply to jwt and cognito_user_pools authorizers only`);
    return { authorizer: name, apiKeyRequired };
  }
  return list.length ? { authorizer: name, authorizationScopes: list, apiKeyRequired } : { authorizer: name, apiKeyRequired };
}

function firstSource(v: unknown): unknown {
  return Array.isArray(v) ? v[0] : typeof v === 'string' ? v.replace(/,.*$/s, '').trim() : v;
}
