// The socket calls of libukernel_abi.so (host/net.zig) through koffi and the generated
// ffiPrototypes, against Node's own sockets: TCP both ways with io_poll, UDP, the policy, handles.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join } from "node:path";
import net from "node:net";
import dgram from "node:dgram";
import * as n from "../../src/abi.generated.ts";
import { buildKernel } from "../../src/zig.ts";

type Fn = (...args: unknown[]) => number | bigint;
const uk: Record<string, Fn> = {};
let listenPort = 0;
let udpPort = 0;
const localhost = 0x7f000001;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const call = (name: string, ...args: unknown[]) => BigInt(uk[name]!(...args));
const events = (max = 8) => Array.from({ length: max }, () => ({ user_data: 0n, events: 0, reserved: 0 }));
function poll(timeoutNs: bigint): [bigint, number][] {
  const out = events();
  const count = Number(call("io_poll", out, 8n, timeoutNs));
  return out.slice(0, count).map((e) => [BigInt(e.user_data), e.events]);
}
/** io_poll in slices, letting Node's own sockets (in this same thread) make progress in between. */
async function pollUntil(want: (evs: [bigint, number][]) => boolean): Promise<[bigint, number][]> {
  for (let i = 0; i < 500; i++) {
    const evs = poll(0n);
    if (want(evs)) return evs;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error("no such event");
}

before(async () => {
  const b = await buildKernel("Debug");
  listenPort = await freePort();
  udpPort = await freePort();
  // The library reads its policy on its first call.
  process.env.UKERNEL_CAPS = "net,time";
  process.env.UKERNEL_NET_LISTEN = `${listenPort},${udpPort}`;
  process.env.UKERNEL_NET_CONNECT = `127.0.0.1/32:${listenPort},127.0.0.0/8:*`;
  delete process.env.UKERNEL_NET_BIND;
  const koffi = createRequire(import.meta.url)("koffi") as typeof import("koffi");
  const lib = koffi.load(join(b.prefix, "lib", "libukernel_abi.so"));
  koffi.struct("uk_event", { user_data: "uint64_t", events: "uint32_t", reserved: "uint32_t" });
  koffi.struct("uk_iovec", { ptr: "uint64_t", len: "uint64_t" });
  for (const [name, proto] of Object.entries(n.ffiPrototypes)) if (name !== "exit" && name !== "task_exit") uk[name] = lib.func(proto) as Fn;
  assert.equal(call("tcp_listen", listenPort, 4), BigInt(n.ERR_PERMISSION), "CAP_NET before it is entered");
  const caps = [call("cap_acquire", n.CAP_NET), call("cap_acquire", n.CAP_TIME)];
  assert.equal(call("cap_enter", caps, 2n), 0n);
});

test("every socket call is exported, with its generated prototype", () => {
  for (const name of n.libraryCalls) assert.ok(uk[name], name);
});

test("a listener accepts a Node client; bytes, EOF and hang-up go through io_poll", async () => {
  const listener = call("tcp_listen", listenPort, 8);
  assert.ok(listener > 0n);
  assert.equal((listener >> 16n) & 0xffn, 16n, "listener type tag");
  assert.equal(call("tcp_listen", listenPort, 8), BigInt(n.ERR_EXISTS));
  assert.equal(call("tcp_accept", listener), BigInt(n.ERR_WOULD_BLOCK));
  assert.equal(call("io_register", listener, n.EV_READABLE, 1n), 0n);
  const client = net.connect(listenPort, "127.0.0.1");
  const got: Buffer[] = [];
  client.on("data", (d) => got.push(d));
  const ended = new Promise((r) => client.on("end", r));
  await pollUntil((e) => e.some(([u, ev]) => u === 1n && (ev & n.EV_READABLE) !== 0));
  const sock = call("tcp_accept", listener);
  assert.equal((sock >> 16n) & 0xffn, 17n, "TCP type tag");
  assert.equal(call("io_register", sock, n.EV_READABLE, 2n), 0n);
  client.write("ping");
  await pollUntil((e) => e.some(([u, ev]) => u === 2n && ev === n.EV_READABLE));
  const buf = Buffer.alloc(16);
  const len = Number(call("sock_recv", sock, buf, 16n));
  assert.equal(buf.subarray(0, len).toString(), "ping");
  assert.equal(call("sock_recv", sock, buf, 16n), BigInt(n.ERR_WOULD_BLOCK));
  assert.equal(call("sock_send", sock, Buffer.from("pong"), 4n), 4n);
  assert.equal(call("sock_shutdown", sock), 0n);
  await ended;
  assert.equal(Buffer.concat(got).toString(), "pong");
  client.end();
  await pollUntil((e) => e.some(([u]) => u === 2n));
  assert.equal(call("sock_recv", sock, buf, 16n), 0n, "0 once the peer closed its side");
  assert.equal(call("handle_close", sock), 0n);
  assert.deepEqual(poll(0n).filter(([u]) => u === 2n), [[2n, n.EV_HANGUP]], "a registered handle closed: one hang-up");
  assert.equal(call("sock_recv", sock, buf, 16n), BigInt(n.ERR_BAD_HANDLE), "stale");
  assert.equal(call("handle_close", listener), 0n);
  poll(0n);
});

test("tcp_connect: within the policy it connects, outside it is ERR_NOT_ALLOWED, a refusal hangs up", async () => {
  const server = net.createServer((s) => s.end("hello"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  assert.equal(call("tcp_connect", 0x0a000202, 80), BigInt(n.ERR_NOT_ALLOWED), "10.0.2.2 is not in this policy");
  assert.equal(call("tcp_connect", localhost, 0), BigInt(n.ERR_INVALID));
  const sock = call("tcp_connect", localhost, port);
  assert.equal(call("io_register", sock, n.EV_READABLE, 3n), 0n);
  await pollUntil((e) => e.some(([u]) => u === 3n));
  const buf = Buffer.alloc(16);
  assert.equal(buf.subarray(0, Number(call("sock_recv", sock, buf, 16n))).toString(), "hello");
  call("handle_close", sock);
  poll(0n);
  server.close();
  const closedPort = await freePort();
  const refused = call("tcp_connect", localhost, closedPort);
  assert.equal(call("io_register", refused, n.EV_WRITABLE, 4n), 0n);
  const evs = await pollUntil((e) => e.some(([u]) => u === 4n));
  assert.deepEqual(evs.filter(([u]) => u === 4n), [[4n, n.EV_HANGUP]]);
  assert.equal(call("sock_recv", refused, buf, 16n), BigInt(n.ERR_CONNECTION));
  call("handle_close", refused);
  poll(0n);
});

test("UDP: udp_bind on a listen port receives from a Node socket and answers it", async () => {
  assert.equal(call("udp_bind", 1), BigInt(n.ERR_NOT_ALLOWED), "a port not in the listen list");
  const sock = call("udp_bind", udpPort);
  assert.equal((sock >> 16n) & 0xffn, 18n, "UDP type tag");
  assert.equal(call("io_register", sock, n.EV_READABLE, 5n), 0n);
  const peer = dgram.createSocket("udp4");
  await new Promise<void>((r) => peer.bind(0, "127.0.0.1", r));
  const answered = new Promise<Buffer>((r) => peer.once("message", r));
  peer.send("datagram", udpPort, "127.0.0.1");
  await pollUntil((e) => e.some(([u]) => u === 5n));
  const buf = Buffer.alloc(64);
  const from = new BigUint64Array(1);
  const len = Number(call("udp_recv_from", sock, buf, 64n, from));
  assert.equal(buf.subarray(0, len).toString(), "datagram");
  const peerPort = peer.address().port;
  assert.equal(from[0], (BigInt(localhost) << 16n) | BigInt(peerPort));
  assert.equal(call("udp_send_to", sock, Buffer.from("reply"), 5n, from[0]), 5n);
  assert.equal((await answered).toString(), "reply");
  assert.equal(call("udp_send_to", sock, Buffer.alloc(1473), 1473n, from[0]), BigInt(n.ERR_INVALID), "more than one unfragmented datagram");
  assert.equal(call("udp_send_to", sock, Buffer.from("x"), 1n, (0x0a000202n << 16n) | 53n), BigInt(n.ERR_NOT_ALLOWED));
  assert.equal(call("udp_recv_from", sock, buf, 64n, from), BigInt(n.ERR_WOULD_BLOCK));
  peer.close();
  call("handle_close", sock);
  poll(0n);
});

test("dns_query/dns_result: the host's resolver, addresses as themselves, hostile names and handles", async () => {
  const query = (name: string) => {
    const bytes = Buffer.from(name, "latin1");
    return call("dns_query", bytes, BigInt(bytes.length));
  };
  const result = (q: bigint, max = 4): number[] | bigint => {
    const out = new Uint32Array(8);
    const r = call("dns_result", q, out, BigInt(max));
    return r < 0n ? r : Array.from(out.subarray(0, Number(r)));
  };
  const local = query("localhost");
  assert.ok(local > 0n, `dns_query: ${local}`);
  assert.equal((local >> 16n) & 0xffn, 19n, "DNS query type tag");
  assert.equal(call("io_register", local, n.EV_READABLE, 77n), 0n);
  assert.ok(poll(0n).some(([u, e]) => u === 77n && (e & n.EV_READABLE) !== 0), "readable once answered");
  assert.deepEqual(result(local), [localhost]);
  assert.deepEqual(result(local, 1), [localhost], "the answer stays until closed");
  assert.equal(call("handle_close", local), 0n);
  assert.ok(poll(0n).some(([u, e]) => u === 77n && e === n.EV_HANGUP), "closed while registered: one hang-up");
  assert.equal(result(local), BigInt(n.ERR_BAD_HANDLE), "stale");
  assert.equal(call("handle_close", local), BigInt(n.ERR_BAD_HANDLE));

  const literal = query("10.0.2.2");
  assert.deepEqual(result(literal), [0x0a000202]);
  call("handle_close", literal);
  const nx = query("no-such-host.invalid");
  assert.ok(nx > 0n);
  assert.equal(result(nx), BigInt(n.ERR_NOT_FOUND));
  call("handle_close", nx);

  const tooLong = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(62)].join(".");
  for (const bad of ["", "a..b", ".a", "a.", "-a.b", "a-.b", "a b", "a/b", "a\0b", "\u00e9.test", "a".repeat(64), tooLong]) {
    assert.equal(query(bad), BigInt(n.ERR_INVALID), JSON.stringify(bad));
  }
  assert.equal(call("dns_query", null, 5n), BigInt(n.ERR_BAD_POINTER));
  const q = query("localhost");
  assert.equal(result(q, 0), BigInt(n.ERR_INVALID));
  assert.equal(result(q, n.MAX_DNS_ADDRS + 1), BigInt(n.ERR_INVALID));
  assert.equal(call("dns_result", q, null, 1n), BigInt(n.ERR_BAD_POINTER));
  assert.equal(result(q ^ (1n << 24n)), BigInt(n.ERR_BAD_HANDLE), "forged generation");
  const udp = call("udp_bind", 0);
  assert.equal(result(udp), BigInt(n.ERR_BAD_HANDLE), "a UDP socket is no query");
  assert.equal(call("sock_recv", q, Buffer.alloc(4), 4n), BigInt(n.ERR_BAD_HANDLE), "a query is no socket");
  call("handle_close", udp);
  call("handle_close", q);
  // Without CAP_NET: refused before anything else (the last test: the capability is gone for good).
  assert.equal(call("cap_drop", n.CAP_NET), 0n);
  assert.equal(query("localhost"), BigInt(n.ERR_PERMISSION));
});
