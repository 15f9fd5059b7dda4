/**
 * ukernel.toml: the workload, its VM and its capability policy. Parsed with a real TOML library,
 * validated once into a typed object; every error names the file, line, key, what was expected
 * and what was found. Unknown keys are errors.
 */
import { readFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
// zod/mini with the English messages only: the whole of zod was 735 KB of the CLI's bundle
// (2/3 of it) and ~45 ms of every `ukernel` start; mini is the same core, its checks tree-shaken.
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import { capabilities } from "../abi/spec.ts";
import { UserError } from "./errors.ts";

export const configFile = "ukernel.toml";

export const capabilityNames = capabilities.map((c) => c.name.slice("CAP_".length).toLowerCase()) as [string, ...string[]];
export const runtimes = ["zig", "typescript", "python"] as const;

const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
z.config(en());

const port = z.int().check(z.minimum(1), z.maximum(65535));
/** `addr[/prefix]:port|lo-hi|*`, the address an IPv4 address or CIDR. */
/** A host name as DNS spells it (resolved by `ukernel run` on the host when it packs the image). */
const hostName = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const destination = z.string().check(z.refine((d) => {
  const m = /^([^/:]+)(?:\/(\d{1,2}))?:(\*|\d{1,5}(?:-\d{1,5})?)$/.exec(d);
  if (!m || (m[2] !== undefined && (Number(m[2]) > 32 || !ipv4.test(m[1]!)))) return false;
  if (!ipv4.test(m[1]!) && (!hostName.test(m[1]!) || /^[\d.]+$/.test(m[1]!))) return false;
  const [lo, hi = lo] = m[3] === "*" ? ["1", "65535"] : m[3]!.split("-");
  return Number(lo) >= 1 && Number(hi) <= 65535 && Number(lo) <= Number(hi);
}, "a destination: an IPv4 address, a CIDR or a host name, a colon, then a port, a range lo-hi, or * (\"10.0.2.2:80\", \"10.1.0.0/16:*\", \"example.com:80\")"));

/**
 * [network] connect with its host names resolved (IPv4, every address the host's resolver gives,
 * each as /32), as the image's policy carries it: the kernel and the guest see addresses only.
 */
export async function resolveDestinations(connect: string[]): Promise<string[]> {
  const { lookup } = await import("node:dns/promises");
  const out: string[] = [];
  for (const d of connect) {
    const colon = d.lastIndexOf(":");
    const host = d.slice(0, colon).split("/")[0]!;
    if (ipv4.test(host)) {
      out.push(d);
      continue;
    }
    let addrs: { address: string }[];
    try {
      addrs = await lookup(host, { all: true, family: 4 });
    } catch (e) {
      throw new UserError(`network.connect: ${host}: the host cannot resolve it (${(e as { code?: string }).code ?? e})`, "use an IPv4 address, or fix the name");
    }
    if (addrs.length === 0) throw new UserError(`network.connect: ${host}: no IPv4 address`);
    for (const a of addrs) out.push(`${a.address}/32${d.slice(colon)}`);
  }
  return out;
}

/**
 * [network]: the workload's address and what it may do on the network, enforced by the kernel on
 * every frame (docs/kernel-abi.md) and by the network library at listen/connect. Needs "net" in
 * capabilities.allow.
 */
const network = z.strictObject({
  /** "dhcp", or an IPv4 address with its prefix. Default: QEMU's user network (10.0.2.15/24). */
  address: z._default(z.string().check(z.refine((a) => a === "dhcp" || (/^[^/]+\/\d{1,2}$/.test(a) && ipv4.test(a.split("/")[0]!) && Number(a.split("/")[1]) >= 1 && Number(a.split("/")[1]) <= 30), 'an IPv4 address with its prefix ("10.0.2.15/24"), or "dhcp"')), "10.0.2.15/24"),
  gateway: z._default(z.string().check(z.regex(ipv4, "an IPv4 address")), "10.0.2.2"),
  dns: z._default(z.string().check(z.regex(ipv4, "an IPv4 address")), "10.0.2.3"),
  /** Ports the workload may serve on (TCP and UDP). */
  listen: z._default(z.array(port).check(z.maxLength(32)), []),
  /** Destinations it may connect to. */
  connect: z._default(z.array(destination).check(z.maxLength(32)), []),
  /**
   * Host ports forwarded to the guest's ("8080:80", as `docker -p`). Default: each listen port
   * from the same host port (from 8000 + port below 1024).
   */
  forward: z.optional(z.array(z.string().check(z.regex(/^\d{1,5}:\d{1,5}$/, 'a forward: "hostport:guestport"'))).check(z.maxLength(32))),
});

export type NetworkConfig = z.infer<typeof network>;

const schema = z.strictObject({
  workload: z.strictObject({
    name: z.string().check(z.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "a lower-case name: letters, digits, - and _")),
    entry: z.string().check(z.minLength(1)),
    runtime: z.enum(runtimes),
    /** A TypeScript workload's process.argv after ["/zigu/js", "/main.js"]. */
    args: z._default(z.array(z.string().check(z.maxLength(4096))).check(z.maxLength(1024)), []),
    /**
     * The most the workload may hold through mem_map at once, in MiB (the JavaScript heap grows
     * through it); past it mem_map is ERR_NO_SPACE. Absent: what the guest's RAM allows.
     */
    memory_limit_mib: z.optional(z.int().check(z.minimum(1), z.maximum(16384))),
  }),
  vm: z._default(
    z.strictObject({
      vcpus: z._default(z.int().check(z.minimum(1), z.maximum(1)), 1),
      memory_mib: z._default(z.int().check(z.minimum(8), z.maximum(16384)), 256),
      kernel_args: z._default(z.string(), ""),
      vmm: z._default(z.enum(["qemu", "firecracker"]), "qemu"),
      accel: z._default(z.enum(["auto", "kvm", "tcg"]), "auto"),
      timeout_s: z._default(z.number().check(z.positive(), z.maximum(86400)), 60),
    }),
    { vcpus: 1, memory_mib: 256, kernel_args: "", vmm: "qemu" as const, accel: "auto" as const, timeout_s: 60 },
  ),
  capabilities: z._default(z.strictObject({ allow: z._default(z.array(z.enum(capabilityNames)), []) }), { allow: [] }),
  /** A TypeScript workload's process.env: names as a shell has them, string values. */
  env: z._default(
    z.record(z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "an environment name: letters, digits and _, not starting with a digit")), z.string().check(z.maxLength(65536))),
    {},
  ),
  network: z.optional(network),
}).check(z.superRefine((config, ctx) => {
  if (config.network && !config.capabilities.allow.includes("net")) {
    ctx.addIssue({ code: "custom", path: ["network"], message: 'needs "net" in capabilities.allow: without CAP_NET no frame moves' });
  }
  for (const f of config.network?.forward ?? []) {
    const [host, guest] = f.split(":").map(Number) as [number, number];
    if (host < 1 || host > 65535 || guest < 1 || guest > 65535) ctx.addIssue({ code: "custom", path: ["network", "forward"], message: `${f}: ports are 1 to 65535` });
    else if (!config.network!.listen.includes(guest)) ctx.addIssue({ code: "custom", path: ["network", "forward"], message: `${f}: guest port ${guest} is not in network.listen` });
  }
  const limit = config.workload.memory_limit_mib;
  if (limit !== undefined && limit > config.vm.memory_mib) {
    ctx.addIssue({ code: "custom", path: ["workload", "memory_limit_mib"], message: `at most vm.memory_mib (${config.vm.memory_mib}): the guest cannot give more` });
  }
}));

export type Config = z.infer<typeof schema>;

/** The host-to-guest port forwards of a network section (explicit, or one per listen port). */
export function forwards(net: NetworkConfig): { host: number; guest: number }[] {
  if (net.forward) return net.forward.map((f) => f.split(":").map(Number) as [number, number]).map(([host, guest]) => ({ host, guest }));
  return net.listen.map((p) => ({ host: p < 1024 ? 8000 + p : p, guest: p }));
}

export interface Project {
  dir: string;
  file: string;
  config: Config;
}

/** The 1-based line of `path` (section, then key) in TOML text, or undefined. */
export function lineOf(text: string, path: readonly PropertyKey[]): number | undefined {
  const lines = text.split("\n");
  const [section, key] = path.map(String);
  let inSection = section === undefined;
  let sectionLine: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    const header = /^\[([^\]]+)\]/.exec(l);
    if (header) {
      inSection = header[1]!.trim() === section;
      if (inSection) sectionLine = i + 1;
      continue;
    }
    if (inSection && key !== undefined && new RegExp(`^${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*=`).test(l)) return i + 1;
  }
  return sectionLine;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (Array.isArray(value)) return `an array`;
  if (value !== null && typeof value === "object") return "a table";
  return `${typeof value} ${String(value)}`;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = data;
  for (const p of path) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/** Validates TOML text; `file` only names it in errors. */
export function parseConfig(text: string, file: string): Config {
  let data: unknown;
  try {
    data = parseToml(text);
  } catch (err) {
    if (err instanceof TomlError) {
      let why = err.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
      const lineText = text.split("\n")[err.line - 1] ?? "";
      // The newline ending a line inside a string is the "control character" smol-toml names.
      if (/control characters are not allowed in strings/.test(why) && err.column > lineText.replace(/\r$/, "").length) {
        const opened = lineText.lastIndexOf('"') + 1;
        why = `unterminated string: the " at column ${opened} is not closed before the end of the line`;
      }
      throw new UserError(`${file}:${err.line}:${err.column}: TOML syntax error: ${why}`, "fix the syntax; see https://toml.io");
    }
    throw err;
  }
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const messages = result.error.issues.map((issue) => {
    let path = issue.path;
    let expected = issue.message.replace(/^Invalid (input|option): /, "").replace(/, received \w+$/, "");
    if (issue.code === "unrecognized_keys") {
      const key = issue.keys[0]!;
      path = [...issue.path, key];
      expected = `no key "${key}" here (unknown keys are errors; known: ${knownKeys(issue.path).join(", ")})`;
    }
    const line = lineOf(text, path);
    const value = valueAt(data, path);
    if (issue.code === "invalid_type" && value === undefined) expected = `missing; ${expected}`;
    const found = issue.code === "unrecognized_keys" ? "" : `, found ${describe(value)}`;
    const key = path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").slice(1);
    return `${file}${line ? `:${line}` : ""}: ${key || "(top level)"}: ${expected}${found}`;
  });
  throw new UserError(messages.join("\n"), `see docs/cli.md for the ukernel.toml reference`);
}

/** A schema's definition, as zod's core keeps it: an object's shape, a default's inner type. */
type Def = { shape?: Record<string, Schema>; innerType?: Schema };
type Schema = { _zod: { def: Def } };

function knownKeys(path: readonly PropertyKey[]): string[] {
  let s: Schema = schema as unknown as Schema;
  for (const p of path) {
    const inner = unwrap(s)._zod.def.shape?.[String(p)];
    if (!inner) return [];
    s = inner;
  }
  return Object.keys(unwrap(s)._zod.def.shape ?? {});
}

function unwrap(t: Schema): Schema {
  const inner = t._zod.def.innerType;
  return inner ? unwrap(inner) : t;
}

/** The project in `dir` (ukernel.toml there), validated, with its entry file checked. */
/** The project folder: the nearest folder from `dir` upward that holds a ukernel.toml (as git and npm find theirs). */
export function findProjectDir(dir: string): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, configFile))) return d;
    if (dirname(d) === d) return undefined;
  }
}

export function loadProject(dir: string): Project {
  const root = findProjectDir(dir);
  if (!root) throw new UserError(`no ${configFile} in ${resolve(dir)} or any folder above it`, "run `ukernel init` to create a project, or cd into one");
  const file = join(root, configFile);
  const text = readFileSync(file, "utf8");
  const config = parseConfig(text, configFile);
  if (!existsSync(join(root, config.workload.entry))) {
    throw new UserError(`${configFile}:${lineOf(text, ["workload", "entry"]) ?? 1}: workload.entry: the file ${config.workload.entry} does not exist`, "create it, or point entry at the workload's main file");
  }
  return { dir: root, file, config };
}
