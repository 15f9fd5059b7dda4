// A small JSON service in the shape edge runtimes use (Cloudflare Workers, Deno, Bun): the
// default export's fetch() answers every request. Zigu serves it on [network] listen's port.
let hits = 0;

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    hits++;
    if (request.method === "GET" && url.pathname === "/hello") {
      const name = url.searchParams.get("name") ?? "world";
      return Response.json({ message: `hello, ${name}`, hits, runtime: "zigu" });
    }
    if (request.method === "POST" && url.pathname === "/echo") {
      const body: unknown = await request.json();
      return Response.json({ received: body, hits });
    }
    if (url.pathname === "/stop") {
      // Exit once the answer has left: the network moves frames only while the loop polls.
      setTimeout(() => process.exit(0), 200);
      return new Response("bye\n");
    }
    return Response.json({ error: "not found", path: url.pathname }, { status: 404 });
  },
};
