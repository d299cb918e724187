import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Verifies AWS Signature Version 4 (header form, `AWS4-HMAC-SHA256`) the way API Gateway checks calls
 * to its management API, so `@aws-sdk/client-apigatewaymanagementapi` works unmodified. The canonical
 * request is rebuilt from the bytes as received (path as sent, raw query, signed headers, body hash).
 */

export interface SignedRequest {
  readonly method: string;
  /** The request path exactly as received, still percent-encoded. */
  readonly rawPath: string;
  readonly query: string;
  /** Lowercased name, value, name, value... as received. */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

export type SigV4Result = { ok: true; accessKeyId: string } | { ok: false; message: string };

/** How far a request's x-amz-date may be from now (AWS: 15 minutes). */
export const MAX_SKEW_MS = 15 * 60 * 1000;
const AUTH = /^AWS4-HMAC-SHA256\s+Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;

export async function verifySigV4(req: SignedRequest, service: string, secretOf: (accessKeyId: string) => Promise<string | null>, now = Date.now()): Promise<SigV4Result> {
  const headers = new Map<string, string[]>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const k = req.rawHeaders[i];
    const value = req.rawHeaders[i + 1];
    if (k === undefined || value === undefined) break;
    let list = headers.get(k);
    if (!list) headers.set(k, (list = []));
    list.push(value);
  }
  const auth = headers.get('authorization')?.[0];
  if (!auth) return fail('Missing Authentication Token');
  const m = AUTH.exec(auth.trim());
  if (!m) return fail('Authorization header requires a valid AWS4-HMAC-SHA256 Credential, SignedHeaders and Signature');
  const [, accessKeyId, day, region, svc, signedHeaderList, givenHex] = m as unknown as [string, string, string, string, string, string, string];
  if (svc !== service) return fail(`Credential should be scoped to correct service: '${service}'`);
  const amzDate = headers.get('x-amz-date')?.[0];
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) return fail('Missing or malformed x-amz-date header');
  const signedAt = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(now - signedAt) > MAX_SKEW_MS) return fail(`Signature expired: ${amzDate} is not within 15 minutes of the server time`);
  if (amzDate.slice(0, 8) !== day) return fail('Credential date does not match x-amz-date');
  const signedHeaders = signedHeaderList.split(';');
  if (!signedHeaders.includes('host')) return fail('The host header must be signed');

  const bodyHash = sha256hex(req.body);
  const declared = headers.get('x-amz-content-sha256')?.[0];
  if (declared !== undefined && declared !== bodyHash) return fail('x-amz-content-sha256 does not match the body');

  let canonicalHeaders = '';
  for (const name of signedHeaders) {
    const values = headers.get(name);
    if (!values) return fail(`Signed header ${name} is missing`);
    canonicalHeaders += `${name}:${values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',')}\n`;
  }
  const canonicalRequest = [req.method, canonicalPath(req.rawPath), canonicalQuery(req.query), canonicalHeaders, signedHeaderList, declared ?? bodyHash].join('\n');

  const secret = await secretOf(accessKeyId);
  if (secret === null) return fail('The security token included in the request is invalid.');
  const expected = signature(secret, amzDate, region, svc, canonicalRequest);
  const given = Buffer.from(givenHex, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return fail('The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');
  }
  return { ok: true, accessKeyId };
}

function signature(secret: string, amzDate: string, region: string, service: string, canonicalRequest: string): Buffer {
  const day = amzDate.slice(0, 8);
  const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${day}/${region}/${service}/aws4_request\n${sha256hex(canonicalRequest)}`;
  let key: Buffer = hmac(`AWS4${secret}`, day);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, 'aws4_request');
  return createHmac('sha256', key).update(stringToSign).digest();
}

/**
 * Signs a request (host, x-amz-date signed) the way the AWS SDK does, for Turnpike's own tools and
 * benchmarks; returns the headers to send. `rawPath` is the path as it will be sent (encoded).
 */
export function signSigV4(
  req: { method: string; host: string; rawPath: string; query?: string; body: string | Buffer },
  creds: { accessKeyId: string; secretAccessKey: string },
  region: string,
  service = 'execute-api',
  now = new Date(),
): Record<string, string> {
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const canonicalRequest = [req.method, canonicalPath(req.rawPath), canonicalQuery(req.query ?? ''), `host:${req.host}\nx-amz-date:${amzDate}\n`, 'host;x-amz-date', sha256hex(req.body)].join('\n');
  const sig = signature(creds.secretAccessKey, amzDate, region, service, canonicalRequest).toString('hex');
  return {
    host: req.host,
    'x-amz-date': amzDate,
    authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${amzDate.slice(0, 8)}/${region}/${service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=${sig}`,
  };
}

function fail(message: string): SigV4Result {
  return { ok: false, message };
}

function sha256hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** RFC 3986 encoding as the AWS signers do it: everything but unreserved characters. */
export function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Every service but S3: dot segments resolved, then the (already encoded) path encoded once more. */
export function canonicalPath(raw: string): string {
  const segs: string[] = [];
  for (const s of raw.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') segs.pop();
    else segs.push(s);
  }
  const path = `/${segs.join('/')}${segs.length > 0 && raw.endsWith('/') ? '/' : ''}`;
  return escapeUri(path).replace(/%2F/g, '/');
}

export function canonicalQuery(query: string): string {
  if (!query) return '';
  const pairs: [string, string][] = [];
  for (const part of query.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push([escapeUri(safeDecode(k)), escapeUri(safeDecode(v))]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    return s;
  }
}
