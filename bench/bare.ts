// `node dist/bench/bare.js PORT`: the floor for a Node.js push endpoint. A bare node:http server
// that reads each request body to its end and answers 200, nothing else; the bench runs it with
// the gateway's Node settings and measures it next to the gateways, so that "ours / bare" shows
// how much of a push's cost is the gateway's own work rather than Node's HTTP stack.
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) throw new Error('usage: bare.js PORT');
const server = createServer((req, res) => {
  req.on('end', () => {
    res.writeHead(200, { 'Content-Length': 0 });
    res.end();
  });
  req.resume();
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
