// The `zigu` module a program imports (`import { capabilities } from "zigu"`): which capabilities
// are active, dropping one for good, and the ABI's errors as typed exceptions. The runtime enters
// every capability ukernel.toml allows before the program's first line; `[capabilities] allow`
// stays the boundary.
import * as abi from "../../../src/abi.generated.ts";
import { native } from "./native.ts";

export type Capability = "log" | "time" | "task" | "io" | "net" | "random";

const kinds: Record<Capability, number> = {
  log: abi.CAP_LOG, time: abi.CAP_TIME, task: abi.CAP_TASK, io: abi.CAP_IO, net: abi.CAP_NET, random: abi.CAP_RANDOM,
};

/** ERR_PERMISSION: `call` needs `capability`, which ukernel.toml does not allow or the program dropped. */
export class CapabilityError extends abi.CapabilityError {
  /** The capability the call needs. */
  readonly capability: Capability;
  /** The ukernel.toml key that allows it. */
  readonly key = "capabilities.allow";
  constructor(call: string, capability: Capability) {
    super(call, abi.ERR_PERMISSION);
    Object.defineProperty(this, "name", { value: "CapabilityError", writable: true, configurable: true, enumerable: false });
    this.capability = capability;
    this.message = `${call} needs the "${capability}" capability, which is not active: ukernel.toml must allow it ([capabilities] allow = [..., "${capability}"]) and the program must not have dropped it`;
  }
}

/** `result` when it is not an error; else the typed exception for it. */
export function check(call: string, result: number, capability?: Capability): number {
  if (result >= 0) return result;
  if (result === abi.ERR_PERMISSION && capability) throw new CapabilityError(call, capability);
  throw abi.errorFor(call, result);
}

function kindOf(cap: Capability): number {
  const kind = kinds[cap];
  if (kind === undefined) throw new TypeError(`not a capability: ${String(cap)} (one of ${Object.keys(kinds).join(", ")})`);
  return kind;
}

export const capabilities = {
  /** The capabilities active now. */
  active(): Capability[] {
    const bits = native.caps();
    return (Object.keys(kinds) as Capability[]).filter((c) => bits & (1 << kinds[c]));
  },
  /** Whether `cap` is active. */
  has(cap: Capability): boolean {
    return (native.caps() & (1 << kindOf(cap))) !== 0;
  },
  /** Drops `cap` for good: no call that needs it works again in this workload. */
  drop(cap: Capability): void {
    check("cap_drop", native.capDrop(kindOf(cap)));
  },
};

/**
 * How often this VM was restored from a snapshot (`ukernel run --snapshot`): 0 on a cold start.
 * The snapshot is taken once the program is loaded, before its first line runs; each restored
 * run gets fresh random state (Math.random, crypto) and clocks.
 */
export function restores(): number {
  return native.restores();
}

export const {
  UkernelError, BadHandleError, BadPointerError, InvalidArgumentError, NoSpaceError, NoSuchCallError, UnsupportedError, ExistsError, NameNotFoundError,
} = abi;
