// The TCP scenario's upstream, run as its own process. Each connection opens with one command line:
//   "ECHO\n"          -> everything after it is echoed back until the peer closes
//   "SEND <bytes>\n"  -> that many bytes are sent (64 KiB chunks, with back-pressure), then end
// Usage: node tcp-echo-server.mjs <port>
import net from 'node:net';

const port = Number(process.argv[2]);
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
const MAX_LINE = 64; // a command line longer than this is not one of ours: close

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let head = Buffer.alloc(0);
  const onHead = (chunk) => {
    head = Buffer.concat([head, chunk]);
    const nl = head.indexOf(10);
    if (nl < 0) {
      if (head.length > MAX_LINE) socket.destroy();
      return;
    }
    socket.off('data', onHead);
    const line = head.subarray(0, nl).toString('latin1');
    const rest = head.subarray(nl + 1);
    if (line === 'ECHO') {
      if (rest.length) socket.write(rest);
      socket.pipe(socket);
    } else if (line.startsWith('SEND ')) {
      send(socket, Number(line.slice(5)));
    } else {
      socket.destroy();
    }
  };
  socket.on('data', onHead);
  socket.on('error', () => socket.destroy());
});

function send(socket, total) {
  if (!Number.isSafeInteger(total) || total < 0) return socket.destroy();
  let left = total;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!socket.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return socket.once('drain', pump);
    }
    socket.end();
  };
  pump();
}

server.listen(port, '127.0.0.1', () => console.log(`tcp echo upstream listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => process.exit(0));
