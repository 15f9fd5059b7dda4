/**
 * Firecracker's network: a TAP device on the host (made and removed by `ukernel run`; needs root),
 * addressed as the guest's gateway, and TCP forwards from 127.0.0.1 to the guest's address, so a
 * networked workload answers on the same host ports under Firecracker as under QEMU's user network.
 */
import { execFileSync } from "node:child_process";
import type net from "node:net";
import { UserError } from "../errors.ts";
import type { NetworkConfig } from "../config.ts";
import type { PortForward } from "./qemu.ts";

function ip(args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export interface Tap {
  name: string;
  /** The guest's address, where the forwards connect. */
  guest: string;
  remove(): void;
}

/** A TAP device named `name` with the gateway's address on the guest's subnet. */
export function makeTap(name: string, network: NetworkConfig): Tap {
  if (process.getuid?.() !== 0) {
    throw new UserError("[network] on Firecracker needs root: `ukernel run` makes a TAP device for the VM (ip tuntap)", "run it as root, or use --vmm qemu (QEMU's user network needs no root)");
  }
  if (network.address === "dhcp") throw new UserError("[network] address = \"dhcp\" does not work on Firecracker: nothing answers DHCP on its TAP device", "give network.address a fixed address, e.g. \"10.0.2.15/24\"");
  const [guest, prefix] = network.address.split("/") as [string, string];
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
  } catch {
    throw new UserError("`ip` (iproute2) is needed to make the TAP device", "apt-get install iproute2");
  }
  const subnet = ip(["-4", "route", "show", "match", network.gateway]).split("\n").find((l) => l.includes(` dev `) && !l.startsWith("default"));
  if (subnet) throw new UserError(`the host already routes ${network.gateway} (${subnet.trim()}): another networked VM, or a network of this host, uses the guest's subnet`, "stop the other VM, run in a network namespace (ip netns), or give [network] another address and gateway");
  try {
    ip(["tuntap", "add", "dev", name, "mode", "tap"]);
    ip(["addr", "add", `${network.gateway}/${prefix}`, "dev", name]);
    ip(["link", "set", name, "up"]);
  } catch (e) {
    try {
      ip(["link", "del", name]);
    } catch {}
    throw new UserError(`making the TAP device ${name} failed: ${(e as { stderr?: string }).stderr ?? e}`);
  }
  return {
    name,
    guest,
    remove() {
      try {
        ip(["link", "del", name]);
      } catch {}
    },
  };
}

/** Listens on 127.0.0.1:host for each forward and relays each connection to guest:port. */
export async function forwardPorts(guest: string, forwards: PortForward[]): Promise<{ close(): void }> {
  const { default: net } = await import("node:net"); // networked runs only: not in every CLI start
  const servers = await Promise.all(
    forwards.map(
      (f) =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer((client) => {
            const upstream = net.connect(f.guest, guest);
            client.pipe(upstream).pipe(client);
            const end = () => {
              client.destroy();
              upstream.destroy();
            };
            client.on("error", end);
            upstream.on("error", end);
          });
          server.once("error", (e) => reject(new UserError(`host port ${f.host}: ${e.message}`, "pick another port in [network] forward")));
          server.listen(f.host, f.hostAddress ?? "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  return { close: () => servers.forEach((s) => s.close()) };
}
