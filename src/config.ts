/**
 * ukernel.toml: the workload, its VM and its capability policy. Parsed with a real TOML library,
 * validated once into a typed object; every error names the file, line, key, what was expected
 * and what was found. Unknown keys are errors.
 */
import { readFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import { z } from "zod";
import { capabilities } from "../abi/spec.ts";
import { UserError } from "./errors.ts";

export const configFile = "ukernel.toml";

export const capabilityNames = capabilities.map((c) => c.name.slice("CAP_".length).toLowerCase()) as [string, ...string[]];
export const runtimes = ["zig", "typescript", "python"] as const;

const schema = z.strictObject({
  workload: z.strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "a lower-case name: letters, digits, - and _"),
    entry: z.string().min(1),
    runtime: z.enum(runtimes),
    /** A TypeScript workload's process.argv after ["/zigu/js", "/main.js"]. */
    args: z.array(z.string().max(4096)).max(1024).default([]),
    /**
     * The most the workload may hold through mem_map at once, in MiB (the JavaScript heap grows
     * through it); past it mem_map is ERR_NO_SPACE. Absent: what the guest's RAM allows.
     */
    memory_limit_mib: z.number().int().min(1).max(16384).optional(),
  }),
  vm: z
    .strictObject({
      vcpus: z.number().int().min(1).max(1).default(1),
      memory_mib: z.number().int().min(8).max(16384).default(256),
      kernel_args: z.string().default(""),
      vmm: z.enum(["qemu", "firecracker"]).default("qemu"),
      accel: z.enum(["auto", "kvm", "tcg"]).default("auto"),
      timeout_s: z.number().positive().max(86400).default(60),
    })
    .default({ vcpus: 1, memory_mib: 256, kernel_args: "", vmm: "qemu", accel: "auto", timeout_s: 60 }),
  capabilities: z
    .strictObject({ allow: z.array(z.enum(capabilityNames)).default([]) })
    .default({ allow: [] }),
  /** A TypeScript workload's process.env: names as a shell has them, string values. */
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "an environment name: letters, digits and _, not starting with a digit"), z.string().max(65536))
    .default({}),
}).superRefine((config, ctx) => {
  const limit = config.workload.memory_limit_mib;
  if (limit !== undefined && limit > config.vm.memory_mib) {
    ctx.addIssue({ code: "custom", path: ["workload", "memory_limit_mib"], message: `at most vm.memory_mib (${config.vm.memory_mib}): the guest cannot give more` });
  }
});

export type Config = z.infer<typeof schema>;

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
      throw new UserError(`${file}:${err.line}:${err.column}: TOML syntax error: ${err.message.split("\n")[0]}`, "fix the syntax; see https://toml.io");
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

function knownKeys(path: readonly PropertyKey[]): string[] {
  let s: z.ZodType = schema;
  for (const p of path) {
    const shape = (s as unknown as { shape?: Record<string, z.ZodType> }).shape;
    const inner = shape?.[String(p)];
    if (!inner) return [];
    s = unwrap(inner);
  }
  return Object.keys((unwrap(s) as unknown as { shape?: Record<string, unknown> }).shape ?? {});
}

function unwrap(t: z.ZodType): z.ZodType {
  const def = (t as unknown as { def?: { innerType?: z.ZodType } }).def;
  return def?.innerType ? unwrap(def.innerType) : t;
}

/** The project in `dir` (ukernel.toml there), validated, with its entry file checked. */
export function loadProject(dir: string): Project {
  const root = resolve(dir);
  const file = join(root, configFile);
  if (!existsSync(file)) throw new UserError(`no ${configFile} in ${root}`, "run `ukernel init` to create a project, or cd into one");
  const text = readFileSync(file, "utf8");
  const config = parseConfig(text, configFile);
  if (!existsSync(join(root, config.workload.entry))) {
    throw new UserError(`${configFile}:${lineOf(text, ["workload", "entry"]) ?? 1}: workload.entry: the file ${config.workload.entry} does not exist`, "create it, or point entry at the workload's main file");
  }
  return { dir: root, file, config };
}
