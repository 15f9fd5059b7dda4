/**
 * The `zigu` module on the host: the same API as the in-guest runtime's (runtime/js/prelude/zigu.ts,
 * typed by runtime/js/zigu.d.ts) over libukernel_abi.so. runtime.ts maps `import … from "zigu"`
 * here with a module resolve hook, and hands over its Abi and the capabilities it entered.
 */
import type { Abi } from "./abi.ts";
import * as n from "../../src/abi.generated.ts";

export type Capability = "log" | "time" | "task" | "io" | "net" | "random";

const kinds: Record<Capability, number> = { log: n.CAP_LOG, time: n.CAP_TIME, task: n.CAP_TASK, io: n.CAP_IO, net: n.CAP_NET, random: n.CAP_RANDOM };

interface Host {
  abi: Abi;
  active: Set<Capability>;
}
const host = (): Host => {
  const h = (globalThis as Record<symbol, Host | undefined>)[Symbol.for("zigu.host")];
  if (!h) throw new Error("the zigu module runs under `ukernel adapter` or in the microVM");
  return h;
};

/** ERR_PERMISSION: `call` needs `capability`, which ukernel.toml does not allow or the program dropped. */
class CapabilityErrorImpl extends n.CapabilityError {
  readonly capability: Capability;
  readonly key = "capabilities.allow";
  constructor(call: string, capability: Capability) {
    super(call, n.ERR_PERMISSION);
    Object.defineProperty(this, "name", { value: "CapabilityError", writable: true, configurable: true, enumerable: false });
    this.capability = capability;
    this.message = `${call} needs the "${capability}" capability, which is not active: ukernel.toml must allow it ([capabilities] allow = [..., "${capability}"]) and the program must not have dropped it`;
  }
}

// One class per process: tsx may load this file twice (as an ES module for the runtime, as
// CommonJS for a project without "type": "module"), and `instanceof` must hold across both.
const registry = globalThis as Record<symbol, unknown>;
export const CapabilityError = (registry[Symbol.for("zigu.CapabilityError")] ??= CapabilityErrorImpl) as typeof CapabilityErrorImpl;
export type CapabilityError = CapabilityErrorImpl;

function kindOf(cap: Capability): number {
  const kind = kinds[cap];
  if (kind === undefined) throw new TypeError(`not a capability: ${String(cap)} (one of ${Object.keys(kinds).join(", ")})`);
  return kind;
}

export const capabilities = {
  active(): Capability[] {
    const { active } = host();
    return (Object.keys(kinds) as Capability[]).filter((c) => active.has(c));
  },
  has(cap: Capability): boolean {
    kindOf(cap);
    return host().active.has(cap);
  },
  drop(cap: Capability): void {
    const h = host();
    h.abi.capDrop(kindOf(cap));
    h.active.delete(cap);
  },
};

export { UkernelError, BadHandleError, BadPointerError, InvalidArgumentError, NoSpaceError, NoSuchCallError, UnsupportedError, ExistsError, NameNotFoundError } from "../../src/abi.generated.ts";

/** TCP sockets through libukernel_abi.so's socket calls, within [network] (runtime.ts sets them up). */
export const net = (globalThis as Record<symbol, unknown>)[Symbol.for("zigu.net")] as {
  listen(port: number, backlog?: number): import("../../runtime/js/prelude/http/socket.ts").Listener;
  connect(host: string, port: number): Promise<import("../../runtime/js/prelude/http/socket.ts").Socket>;
  resolve(host: string): Promise<string[]>;
};
export { NetworkPolicyError } from "../../runtime/js/prelude/net.ts";
