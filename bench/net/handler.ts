// The handler the network benchmark serves, the same code inside the microVM (as a TypeScript
// workload's default export) and on the host (under Node 20, bench/net/host.ts).
let hits = 0;
const bulk = new Uint8Array(8 << 20).fill(0x7a);

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    hits++;
    if (url.pathname === "/hello") return Response.json({ message: `hello, ${url.searchParams.get("name") ?? "world"}`, hits });
    if (url.pathname === "/bytes") return new Response(bulk.subarray(0, Math.min(Number(url.searchParams.get("n") ?? 0), bulk.length)));
    if (url.pathname === "/stop") {
      setTimeout(() => process.exit(0), 200);
      return new Response(`served ${hits}\n`);
    }
    return Response.json({ error: "not found" }, { status: 404 });
  },
};
