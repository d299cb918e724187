import type { HttpResponse } from 'uWebSockets.js';

/**
 * Message framing checks uWebSockets.js leaves to the application (RFC 9112 6.1-6.3). uWS frames the
 * body by the first Content-Length it sees and treats any Transfer-Encoding value containing "chunked"
 * as chunked, so a request that another HTTP hop could frame differently (a request-smuggling
 * primitive) reaches the handler. Such a request is refused with 400 and the connection closed: the
 * bytes after its head cannot be trusted to start a new request, so nothing after it is served.
 * Everything uWS itself refuses (Transfer-Encoding with Content-Length, obs-fold, NUL, bare CR) never
 * gets here; docs/edge.md lists what each layer does.
 *
 * @param rawHeaders name/value pairs as uWS gives them (names lower-cased)
 * @returns the reason the request was refused (the response is sent), or null when it may proceed
 */
export function refuseAmbiguousFraming(res: HttpResponse, rawHeaders: readonly string[]): string | null {
  let contentLength: string | null = null;
  let transferEncoding: string | null = null;
  let reason: string | null = null;
  for (let i = 0; i < rawHeaders.length && reason === null; i += 2) {
    const name = rawHeaders[i];
    if (name === 'content-length') {
      const v = rawHeaders[i + 1]!;
      // 1*DIGIT only: no sign, no list, no hex; a repeated header is refused even when equal, since a
      // hop that joins them into "5, 5" frames differently from one that takes either.
      if (contentLength !== null) reason = 'more than one content-length';
      else if (!/^[0-9]{1,15}$/.test(v)) reason = 'invalid content-length';
      contentLength = v;
    } else if (name === 'transfer-encoding') {
      // The only coding the edge decodes is chunked, alone and once (RFC 9112 6.1: chunked must be the
      // final coding, and a server that does not understand a coding answers 501; 400 and a close is
      // what uWS leaves room for, since it has already framed the body its own way).
      if (transferEncoding !== null) reason = 'more than one transfer-encoding';
      else if (rawHeaders[i + 1]!.trim().toLowerCase() !== 'chunked') reason = 'unsupported transfer-encoding';
      transferEncoding = rawHeaders[i + 1]!;
    }
  }
  if (reason === null && contentLength !== null && transferEncoding !== null) reason = 'transfer-encoding with content-length';
  if (reason === null) return null;
  // Answered on the next turn, not now: while this request is unanswered, uWS closes the connection if
  // it parses another request behind it (its rule against asynchronous pipelining), so bytes smuggled
  // after an ambiguous body never run. Answered now, with close, uWS would still dispatch them: it
  // only shuts the socket down after the write.
  let aborted = false;
  res.onAborted(() => (aborted = true));
  setImmediate(() => {
    if (aborted) return;
    res.cork(() => {
      res.writeStatus('400 Bad Request').writeHeader('content-type', 'application/json');
      res.end(JSON.stringify({ message: 'Bad Request', reason }), true);
    });
  });
  return reason;
}
