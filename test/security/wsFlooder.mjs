// A hostile WebSocket client, in its own process so that its sending loop cannot slow down the test's
// well-behaved client: connects, sends `count` messages as fast as the socket takes them, and prints
// one JSON line with what happened ({sent, closeCode, closeReason, ms}).
import WebSocket from 'ws';

const [url, countArg, sizeArg] = process.argv.slice(2);
const count = Number(countArg);
const body = JSON.stringify({ action: 'ping', pad: 'x'.repeat(Math.max(0, Number(sizeArg ?? 0))) });
const ws = new WebSocket(url);
const started = Date.now();
let sent = 0;
let open = false;
ws.on('error', () => {});
ws.on('open', () => {
  open = true;
  const burst = () => {
    // Batches of 1000, yielding in between so the close frame can be read while flooding.
    for (let i = 0; i < 1000 && sent < count && open; i++, sent++) ws.send(body);
    if (sent < count && open) setImmediate(burst);
  };
  burst();
});
ws.on('close', (code, reason) => {
  open = false;
  process.stdout.write(JSON.stringify({ sent, closeCode: code, closeReason: reason.toString(), ms: Date.now() - started }) + '\n');
  process.exit(0);
});
