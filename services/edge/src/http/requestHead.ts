/**
 * Message framing checks uWebSockets.js leaves to the application (RFC 9112 6.1-6.3). uWS frames the
 * body by the first Content-Length it sees and treats any Transfer-Encoding value containing "chunked"
 * as chunked, so a request that another HTTP hop could frame differently (a request-smuggling
 * primitive) reaches the handler. Such a request is refused with 400 and the connection closed: the
 * bytes after its head cannot be trusted to start a new request, so nothing after it is served.
 * Everything uWS itself refuses (Transfer-Encoding with Content-Length, obs-fold, NUL, bare CR) never
 * gets here; docs/edge.md lists what each layer does.
 *
 * The caller answers on the next turn of the event loop, not at once: answered inside uWS's request
 * handler, uWS goes on parsing the same read and runs a request smuggled behind the refused one before
 * the close takes effect (test/http shows it).
 *
 * @param rawHeaders name/value pairs as uWS gives them (names lower-cased)
 * @returns why the request must be refused, or null when its framing is unambiguous
 */
export function ambiguousFraming(rawHeaders: readonly string[]): string | null {
  let contentLength: string | null = null;
  let transferEncoding: string | null = null;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    const value = rawHeaders[i + 1];
    if (value === undefined) break; // a name without a value: the list has ended
    if (name === 'content-length') {
      if (contentLength !== null) return 'more than one content-length';
      if (!/^[0-9]{1,15}$/.test(value)) return 'invalid content-length';
      contentLength = value;
    } else if (name === 'transfer-encoding') {
      if (transferEncoding !== null) return 'more than one transfer-encoding';
      if (value.trim().toLowerCase() !== 'chunked') return 'unsupported transfer-encoding';
      transferEncoding = value;
    }
  }
  return contentLength !== null && transferEncoding !== null ? 'transfer-encoding with content-length' : null;
}
