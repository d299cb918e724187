import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
// The SDK's own signer (a dependency of the client): an implementation independent of the edge's verifier.
import { SignatureV4 } from '@smithy/signature-v4';
import { rawRequest } from '../fixtures.js';

/** A SigV4-signed request as the SDK would make it, for the routes the SDK has no command for. */
export async function signedRequest(port: number, method: string, path: string, body: string, creds: { accessKeyId: string; secretAccessKey: string }, region = 'us-east-1') {
  const signer = new SignatureV4({ service: 'execute-api', region, credentials: creds, sha256: NodeSha256 });
  const signed = await signer.sign({ method, protocol: 'http:', hostname: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}` }, body, query: {} });
  return rawRequest(port, { method, path, headers: signed.headers, body });
}
export class NodeSha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: unknown) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret as string | Uint8Array);
  }
  update(data: unknown): void {
    this.h.update(data as string | Uint8Array);
  }
  async digest(): Promise<Uint8Array> {
    return this.h.digest();
  }
}
