// Two microVMs on one link that loses frames: the Zig echo server (examples/echo, at 10.0.0.1) and
// a client (tests/net/bulk, at 10.0.0.2) that sends 8 MiB and checks every byte of the echo. Each
// VM's virtio-net is a QEMU `-netdev stream` socket to a frame proxy here, which drops and reorders
// 1% of the frames, reorders 2% and injects random and malformed frames into the server: the transfer must
// arrive byte-identical and neither kernel may crash or hang (`tc netem` is not available here).
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import net from "node:net";
import { loadProject } from "../../src/config.ts";
import { pack } from "../../src/commands/pack.ts";
import { bootQemu, type Accel } from "../../src/vmm/qemu.ts";
import { jsDepsReady, netLib, repoRoot } from "../../src/zig.ts";
import { existsSync } from "node:fs";
import { accelerators } from "../boot/harness.ts";

/** One end of the link: QEMU's stream netdev, frames as a 4-byte big-endian length and the bytes. */
class End {
  private buf = Buffer.alloc(0);
  constructor(readonly sock: net.Socket, onFrame: (f: Buffer) => void) {
    sock.on("data", (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 4) {
        const len = this.buf.readUInt32BE(0);
        if (this.buf.length < 4 + len) break;
        onFrame(this.buf.subarray(4, 4 + len));
        this.buf = this.buf.subarray(4 + len);
      }
    });
  }
  send(f: Buffer): void {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(f.length);
    this.sock.write(Buffer.concat([h, f]));
  }
}

/** A seeded generator, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function image(example: string, edit: (t: string) => string) {
  const dir = mkdtempSync(join(tmpdir(), `zigu-loss-${example.replaceAll("/", "-")}-`));
  cpSync(join(repoRoot, example), dir, { recursive: true, filter: (src) => !/\/(dist|\.ukernel)(\/|$)/.test(src) });
  const toml = join(dir, "ukernel.toml");
  writeFileSync(toml, edit(readFileSync(toml, "utf8")));
  return pack(loadProject(dir), { release: true, progress: () => {} });
}

const skip = !jsDepsReady() || !existsSync(netLib) ? "the network library is not built (./scripts/setup)" : false;

for (const accel of accelerators() as Accel[]) {
  test(`8 MiB echoed byte-identical over a link dropping 1% and reordering 2% of frames, with garbage injected into the server (QEMU ${accel.toUpperCase()})`, { skip, timeout: 600_000 }, async () => {
    const server = await image("examples/echo", (t) => t.replace(/\[network\][^]*$/, '[network]\naddress = "10.0.0.1/24"\ngateway = "10.0.0.2"\nlisten = [7]\n'));
    const client = await image("tests/net/bulk", (t) => t);
    const sockDir = mkdtempSync(join(tmpdir(), "zigu-link-"));
    const paths = { server: join(sockDir, "server.sock"), client: join(sockDir, "client.sock") };
    const random = rng(0x10552);
    const counts = { forwarded: 0, dropped: 0, reordered: 0, injected: 0 };
    const ends: { server?: End; client?: End } = {};
    const held: { server?: Buffer; client?: Buffer } = {};
    const garbage = (): Buffer => {
      const len = 14 + Math.floor(random() * 1500);
      const f = Buffer.alloc(len);
      for (let i = 0; i < len; i++) f[i] = Math.floor(random() * 256);
      if (random() < 0.7) {
        Buffer.from([0x52, 0x54, 0x00, 0x00, 0x00, 0x01]).copy(f, 0); // to the server's MAC
        f.writeUInt16BE(0x0800, 12); // IPv4 with random header fields
        if (len > 34 && random() < 0.5) f[14] = 0x45;
      }
      return f;
    };
    const relay = (to: "server" | "client", f: Buffer) => {
      const end = ends[to];
      if (!end) return;
      if (random() < 0.01) return void counts.dropped++;
      if (!held[to] && random() < 0.02) {
        held[to] = Buffer.from(f); // goes out after the next frame
        counts.reordered++;
        return;
      }
      end.send(f);
      counts.forwarded++;
      const h = held[to];
      if (h) {
        held[to] = undefined;
        end.send(h);
      }
      if (to === "server" && random() < 0.02) {
        end.send(garbage());
        counts.injected++;
      }
    };
    const servers = (["server", "client"] as const).map((name) =>
      net.createServer((sock) => {
        ends[name] = new End(sock, (f) => relay(name === "server" ? "client" : "server", f));
        sock.on("error", () => {});
      }).listen(paths[name]),
    );
    try {
      const mac = { server: "52:54:00:00:00:01", client: "52:54:00:00:00:02" };
      const serverVm = bootQemu({ kernel: server.kernel, drive: server.rootfs, cmdline: server.cmdline, accel, memMiB: 64, timeoutMs: 320_000, net: { kind: "stream", socketPath: paths.server, mac: mac.server } });
      const clientVm = await bootQemu({ kernel: client.kernel, drive: client.rootfs, cmdline: client.cmdline, accel, memMiB: 64, timeoutMs: 280_000, net: { kind: "stream", socketPath: paths.client, mac: mac.client } });
      const serverEnd = await serverVm; // the client stops it ("shutdown\n")
      const info = `${JSON.stringify(counts)}\nclient:\n${clientVm.console}\nserver:\n${serverEnd.console}`;
      assert.match(clientVm.console, /^bulk: 8388608 bytes echoed in \d+ ms, 0 bytes differ$/m, info);
      assert.deepEqual(clientVm.end, { kind: "exit", status: 0 }, info);
      assert.ok(counts.dropped > 10 && counts.reordered > 10 && counts.injected > 10, info);
      assert.doesNotMatch(serverEnd.console, /panic|fault/, info);
      assert.match(serverEnd.console, /^echo: shutdown after \d+ connections$/m, info);
      assert.deepEqual(serverEnd.end, { kind: "exit", status: 0 }, info);
    } finally {
      for (const s of servers) s.close();
      rmSync(sockDir, { recursive: true, force: true });
    }
  });
}
