// The example app: answers every request with who it is and what it received.
const http = require("node:http");
const port = Number(process.env.PORT || 8080);
http.createServer((req, res) => {
  const body = JSON.stringify({ app: process.env.HOSTNAME || "example", method: req.method, url: req.url, headers: req.headers, peer: req.socket.remoteAddress }) + "\n";
  res.writeHead(200, { "content-type": "application/json" }).end(body);
}).listen(port, function () { console.log(`example app on :${this.address().port}`); });
