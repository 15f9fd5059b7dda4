// bench/net/handler.ts on the host, under Node 20's own http server, Request and Response: the
// baseline the microVM's requests per second are measured against. Usage: node host.ts <port>
import http from "node:http";
import handler from "./handler.ts";

const port = Number(process.argv[2]);
http
  .createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length && req.method !== "GET" && req.method !== "HEAD" ? Buffer.concat(chunks) : undefined;
    const r = await handler.fetch(new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers: req.headers as Record<string, string>, body }));
    const bytes = Buffer.from(await r.arrayBuffer());
    res.writeHead(r.status, { ...Object.fromEntries(r.headers), "content-length": bytes.length });
    res.end(bytes);
  })
  .listen(port, "127.0.0.1", () => console.log(`listening ${port}`));
