// The built `ukernel` CLI, end to end, in temporary project directories: init -> build -> run ->
// logs, exit statuses, and the errors a user can cause.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { createHash } from "node:crypto";
import { list as listTar, extract as extractTar } from "tar";
import { run } from "../../src/proc.ts";
import { jsDepsReady, repoRoot } from "../../src/zig.ts";
import { firecrackerVersion } from "../../src/vmm/firecracker.ts";
import { kvmUsable } from "../../src/vmm/qemu.ts";
import { tarDataOffset } from "../../src/commands/pack.ts";

const cli = join(repoRoot, "bin", "ukernel.js");

function ukernel(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  return run(["node", cli, ...args], { cwd, env, timeoutMs: 15 * 60_000 });
}

function newProject(): string {
  return mkdtempSync(join(tmpdir(), "ukernel-"));
}

async function initProject(): Promise<string> {
  const dir = newProject();
  const r = await ukernel(["init", ".", "--runtime", "zig"], dir);
  assert.equal(r.exitCode, 0, r.stderr);
  return dir;
}

function edit(dir: string, file: string, from: string | RegExp, to: string): void {
  const p = join(dir, file);
  const text = readFileSync(p, "utf8");
  const next = text.replace(from, to);
  assert.notEqual(next, text, `${file}: nothing replaced`);
  writeFileSync(p, next);
}

describe("the ukernel command", () => {
  test("--version names the CLI and the kernel ABI; the CLI runs bundled from .deps/cli, not compiled at each start", async () => {
    const r = await ukernel(["--version"], newProject());
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^ukernel \d+\.\d+\.\d+ \(Zigu kernel \d+\.\d+\.\d+, ABI \d+; \/\S+\)$/m);
    const bundle = join(repoRoot, ".deps", "cli", "ukernel.mjs");
    assert.ok(existsSync(bundle), "no bundle after a run of bin/ukernel.js");
    const newestSource = Math.max(...readdirSync(join(repoRoot, "src")).filter((f) => f.endsWith(".ts")).map((f) => statSync(join(repoRoot, "src", f)).mtimeMs));
    assert.ok(statSync(bundle).mtimeMs >= newestSource, "the bundle is older than a source file it should have been rebuilt from");
    // What only packing, snapshots or the network need is not read at every start: tar (with zlib
    // and streams) sits in a chunk of its own, every chunk the entry names exists, and Node's HTTP
    // and net modules load only when used.
    const entry = readFileSync(bundle, "utf8");
    const chunks = [...entry.matchAll(/["']\.\/(chunk-[A-Z0-9]+\.mjs)["']/g)].map((m) => m[1]!);
    assert.ok(chunks.length > 0, "no chunks: the bundle is not split");
    for (const c of chunks) assert.ok(existsSync(join(repoRoot, ".deps", "cli", c)), `${c} is missing`);
    assert.doesNotMatch(entry, /^import [^\n]* from "(node:)?(zlib|http|net)";$/m);
  });
});

describe("ukernel init", () => {
  test("writes ukernel.toml and a sample, and refuses to overwrite a project", async () => {
    const dir = await initProject();
    assert.ok(existsSync(join(dir, "ukernel.toml")));
    assert.ok(existsSync(join(dir, "src", "main.zig")));
    const again = await ukernel(["init", "."], dir);
    assert.equal(again.exitCode, 2);
    assert.match(again.stderr, /already exists: init never overwrites a project/);
  });

  test("TypeScript is the default: run prints the sample from inside the microVM, adapter runs it on the host", { skip: !jsDepsReady() && "the runtime's archives are not built (./scripts/setup)" }, async () => {
    const dir = newProject();
    const init = await ukernel(["init", "."], dir);
    assert.equal(init.exitCode, 0, init.stderr);
    assert.match(init.stdout, /next: cd .* && (ukernel|node \S+\/bin\/ukernel\.js) run$/m);
    assert.ok(existsSync(join(dir, "src", "main.ts")));
    const r = await ukernel(["run"], dir);
    assert.equal(r.exitCode, 0, r.stderr);
    // The kernel's one boot line, then the program.
    assert.match(r.stdout, /^zigu \S+: boot \d+ us, gate (trap|syscall) \((probed|forced)\), tsc \d+ kHz \([^)]+\)\nhello from a Zigu workload\nslept at least 10 ms\nzigu: exit 0$/m);
    const a = await ukernel(["adapter"], dir);
    assert.equal(a.exitCode, 0, a.stderr);
    assert.match(a.stdout, /^hello from a Zigu workload$/m);
    // main's number is the status; a type error fails the build with file:line; Node's modules are not there.
    edit(dir, "src/main.ts", "return 0;", "return 6;");
    assert.equal((await ukernel(["run"], dir)).exitCode, 6);
    writeFileSync(join(dir, "src", "main.ts"), 'const n: number = "text";\nconsole.log(n);\n');
    const typeError = await ukernel(["build"], dir);
    assert.equal(typeError.exitCode, 1, "a program that does not compile is exit 1 (2 is a usage or configuration error)");
    assert.match(typeError.stderr, /type check failed:\nsrc\/main\.ts\(1,7\): error TS2322/);
    writeFileSync(join(dir, "src", "main.ts"), 'import { readFileSync } from "node:fs";\nconsole.log(readFileSync);\n');
    const nodeImport = await ukernel(["build"], dir);
    assert.equal(nodeImport.exitCode, 1);
    assert.match(nodeImport.stderr, /Cannot find module 'node:fs'/);
    assert.match(nodeImport.stderr, /hint: Node's modules do not exist in the microVM/);
    // ukernel.toml's args and [env]; the zigu module; a refused call is a CapabilityError; stacks
    // name the TypeScript source through the bundle's source map.
    edit(dir, "ukernel.toml", /args = \[\]/, 'args = ["--flag", "two words"]');
    edit(dir, "ukernel.toml", /\[env\].*\n/, '[env]\nGREETING = "héllo"\n');
    writeFileSync(join(dir, "src", "main.ts"), [
      'import { capabilities, CapabilityError } from "zigu";',
      "",
      "console.log(process.argv.slice(2), process.env.GREETING, capabilities.active());",
      'capabilities.drop("log");',
      "try {",
      '  console.log("never");',
      "} catch (e) {",
      "  if (!(e instanceof CapabilityError)) throw e;",
      "  process.exitCode = e.capability === \"log\" && e.key === \"capabilities.allow\" ? 7 : 1;",
      "}",
      "function fails(): never {",
      '  throw new RangeError("from TypeScript");',
      "}",
      'if (process.argv.includes("--flag")) setTimeout(() => { try { fails(); } catch (e) { if (!String((e as Error).stack).includes("src/main.ts:12:")) process.exitCode = 9; } }, 1);',
      "",
    ].join("\n"));
    const program = await ukernel(["run"], dir);
    assert.match(program.stdout, /^\[ '--flag', 'two words' \] héllo \[ 'log', 'time' \]$/m, program.stdout);
    assert.doesNotMatch(program.stdout, /never/);
    assert.equal(program.exitCode, 7, program.stdout + program.stderr);
  });
});

describe("a TypeScript workload's endings", { skip: !jsDepsReady() && "the runtime's archives are not built (./scripts/setup)" }, () => {
  test("a throw, a rejection, process.exit(3) and a loop that never ends (--timeout) each end with their status, the console kept in the run's log", async () => {
    const dir = newProject();
    assert.equal((await ukernel(["init", "."], dir)).exitCode, 0);
    const cases: [string, string, number, RegExp][] = [
      ["throws", 'console.log("before");\nthrow new TypeError("thrown");\n', 1, /^before\nerror: Uncaught TypeError: thrown\nerror: {5}at src\/main\.ts:3:\d+$/m],
      ["rejects", 'console.log("before");\nawait Promise.reject(new RangeError("rejected"));\n', 1, /^before\nerror: Uncaught RangeError: rejected$/m],
      ["exits", 'console.log("before");\nsetTimeout(() => console.log("never"), 10);\nprocess.exit(3);\n', 3, /^before\nzigu: exit 3$/m],
      ["spins", 'console.log("spinning");\nfor (;;) {}\n', 124, /^spinning$/m],
    ];
    for (const [name, source, status, console] of cases) {
      writeFileSync(join(dir, "src", "main.ts"), `export {};\n${source}`); // a module: top-level await
      const r = await ukernel(["run", "--timeout", "8"], dir);
      assert.equal(r.exitCode, status, `${name}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, console, name);
      assert.doesNotMatch(r.stdout, /never/, name);
      const logs = await ukernel(["logs"], dir);
      assert.match(logs.stdout, console, `${name}: the run's log`);
    }
  });
});

describe("ukernel build, run, logs, runs", () => {
  test("runs the sample in a microVM, exits 0, stores the run, and logs shows it", async () => {
    const dir = await initProject();
    const r = await ukernel(["run"], dir);
    assert.equal(r.exitCode, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^hello from a Zigu workload$/m);
    assert.match(r.stdout, /^zigu: exit 0$/m);
    const runs = readdirSync(join(dir, ".ukernel", "runs"));
    assert.equal(runs.length, 1);
    const result = JSON.parse(readFileSync(join(dir, ".ukernel", "runs", runs[0]!, "result.json"), "utf8"));
    assert.equal(result.status, 0);
    assert.equal(result.outcome, "exited");
    assert.ok(existsSync(join(dir, ".ukernel", "runs", runs[0]!, "vmm.json")));
    const logs = await ukernel(["logs"], dir);
    assert.equal(logs.stdout, readFileSync(join(dir, ".ukernel", "runs", runs[0]!, "console.log"), "utf8"));
    assert.match(logs.stdout, /hello from a Zigu workload/);
    const list = await ukernel(["runs", "--json"], dir);
    assert.equal(JSON.parse(list.stdout)[0].id, runs[0]);
  });

  test("a second build with nothing changed does no work; a changed source rebuilds", async () => {
    const dir = await initProject();
    const first = JSON.parse((await ukernel(["build", "--json"], dir)).stdout);
    assert.equal(first.upToDate, false);
    const second = JSON.parse((await ukernel(["build", "--json"], dir)).stdout);
    assert.equal(second.upToDate, true);
    edit(dir, "src/main.zig", "hello from a Zigu workload", "hello again");
    const third = JSON.parse((await ukernel(["build", "--json"], dir)).stdout);
    assert.equal(third.upToDate, false);
  });

  test("exit statuses propagate: non-zero, workload fault, kernel panic, timeout", async () => {
    const dir = await initProject();
    edit(dir, "src/main.zig", /return 0;\n}\n$/, "return 7;\n}\n");
    let r = await ukernel(["run", "--json"], dir);
    assert.equal(r.exitCode, 7);
    assert.equal(JSON.parse(r.stdout).status, 7);

    edit(dir, "src/main.zig", "return 7;", "const p: *volatile u8 = @ptrFromInt(0x200000);\n    return p.*;");
    r = await ukernel(["run"], dir);
    assert.equal(r.exitCode, 142, r.stdout);
    assert.match(r.stdout, /zigu: workload fault: #PF page fault/);

    edit(dir, "ukernel.toml", 'kernel_args = ""', 'kernel_args = "zigu.test=kernel-fault"');
    r = await ukernel(["run"], dir);
    assert.equal(r.exitCode, 255);
    assert.match(r.stdout, /zigu: panic: kernel exception/);

    edit(dir, "ukernel.toml", 'kernel_args = "zigu.test=kernel-fault"', 'kernel_args = ""');
    edit(dir, "src/main.zig", /const p: \*volatile u8[^\n]*\n\s*return p\.\*;/, "while (true) {}");
    r = await ukernel(["run", "--timeout", "3", "--json"], dir);
    assert.equal(r.exitCode, 124);
    assert.equal(JSON.parse(r.stdout).outcome, "timeout");
  });

  test("the policy in ukernel.toml travels in the image and is what the kernel enforces", async () => {
    const dir = await initProject();
    edit(dir, "ukernel.toml", 'allow = ["log", "time"]', 'allow = ["time"]');
    // A policy smuggled onto the kernel command line changes nothing: the image's is used.
    edit(dir, "ukernel.toml", 'kernel_args = ""', 'kernel_args = "zigu.caps=log,time"');
    const r = await ukernel(["run", "--verbose"], dir);
    assert.match(r.stdout, /zigu: zigu\.caps= ignored: the root image carries the policy/);
    assert.match(r.stdout, /\(root image, policy "time"\)/);
    assert.equal(r.exitCode, 3, "the sample exits 3 when it may not log");
    assert.doesNotMatch(r.stdout, /hello from a Zigu workload/);
  });
});

describe("ukernel adapter", () => {
  test("runs a Python workload through the asyncio adapter on the host; ukernel run says where Python runs", async () => {
    const dir = newProject();
    assert.equal((await ukernel(["init", ".", "--runtime", "python"], dir)).exitCode, 0);
    const r = await ukernel(["adapter"], dir);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^hello from a Zigu workload$/m);
    assert.match(r.stderr, /host mode: Python runs as an ordinary process .*not its files, sockets, clocks or subprocesses/);
    edit(dir, "main.py", "return 0", "return 5");
    assert.equal((await ukernel(["adapter"], dir)).exitCode, 5);
    const inVm = await ukernel(["run"], dir);
    assert.equal(inVm.exitCode, 2);
    assert.match(inVm.stderr, /runtime "python" cannot be built for the microVM yet.*\nhint: Python workloads run on the host: `ukernel adapter`/);
  });

  test("for a Zig workload it points to ukernel run", async () => {
    const r = await ukernel(["adapter"], await initProject());
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /Zig workloads run in the microVM\nhint: use `ukernel run`/);
  });
});

describe("ukernel run, interrupted", () => {
  test("Ctrl-C stops the VM, keeps the console, records the run and exits 130", { timeout: 120_000 }, async () => {
    const dir = await initProject();
    edit(dir, "src/main.zig", /return 0;\n}\n$/, "zigu.log(\"spinning\");\n    while (true) {}\n}\n");
    assert.equal((await ukernel(["pack"], dir)).exitCode, 0);
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [cli, "run"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stdout.on("data", (c: Buffer) => {
        stdout += c.toString();
        if (stdout.includes("spinning")) resolve();
      });
    });
    child.kill("SIGINT");
    assert.equal(await exited, 130);
    const [id] = readdirSync(join(dir, ".ukernel", "runs"));
    const result = JSON.parse(readFileSync(join(dir, ".ukernel", "runs", id!, "result.json"), "utf8"));
    assert.equal(result.outcome, "interrupted");
    assert.match(readFileSync(join(dir, ".ukernel", "runs", id!, "console.log"), "utf8"), /^spinning$/m);
    const ps = await run(["pgrep", "-f", join(dir, "dist")], { timeoutMs: 10_000 });
    assert.equal(ps.stdout.trim(), "", "no VMM left running");
  });
});

describe("ukernel pack", () => {
  const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

  test("dist/<name>/ holds the kernel, a tar root image (manifest, policy, workload) and a Firecracker config", async () => {
    const dir = await initProject();
    const r = JSON.parse((await ukernel(["pack", "--json"], dir)).stdout);
    const name = r.dir.split("/").at(-1);
    const entries: { path: string; size: number }[] = [];
    await listTar({ file: r.rootfs, onReadEntry: (e) => entries.push({ path: e.path, size: e.size ?? 0 }) });
    assert.deepEqual(entries.map((e) => e.path), [".pad", "workload.elf", "manifest.json", "policy"]);
    // workload.elf's data on a 4 KiB boundary: the kernel maps its read-only segments in place.
    assert.equal(tarDataOffset(readFileSync(r.rootfs), "workload.elf"), 4096);
    const staged = join(dir, "unpacked");
    mkdirSync(staged);
    await extractTar({ file: r.rootfs, cwd: staged });
    const manifest = JSON.parse(readFileSync(join(staged, "manifest.json"), "utf8"));
    assert.equal(manifest.name, name);
    assert.deepEqual(manifest.capabilities, ["log", "time"]);
    assert.equal(manifest.workload_sha256, sha(join(staged, "workload.elf")));
    assert.equal(readFileSync(join(staged, "policy"), "utf8"), "log,time\n");
    assert.equal(readFileSync(join(staged, "workload.elf")).subarray(0, 4).toString("latin1"), "\x7fELF");
    const fc = JSON.parse(readFileSync(r.firecrackerConfig, "utf8"));
    assert.deepEqual(Object.keys(fc).sort(), ["boot-source", "drives", "logger", "machine-config"]);
    assert.deepEqual(fc["boot-source"], { kernel_image_path: "zigu.elf", boot_args: "console=ttyS0 zigu.workload=disk" });
    assert.deepEqual(fc.drives, [{ drive_id: "rootfs", path_on_host: "rootfs.img", is_root_device: false, is_read_only: true }]);
    assert.deepEqual(fc["machine-config"], { vcpu_count: 1, mem_size_mib: 256 });
    assert.deepEqual(fc.logger, { log_path: "firecracker.log", level: "Info" });
  });

  test("packing again from scratch gives a byte-identical root image", async () => {
    const dir = await initProject();
    const r = JSON.parse((await ukernel(["pack", "--json"], dir)).stdout);
    const first = sha(r.rootfs);
    rmSync(join(dir, "dist"), { recursive: true });
    JSON.parse((await ukernel(["pack", "--json"], dir)).stdout);
    assert.equal(sha(r.rootfs), first);
  });

  test("the packed Firecracker config boots as it is", { skip: !firecrackerVersion() ? "no firecracker binary on PATH" : !kvmUsable() && "no usable /dev/kvm" }, async () => {
    const dir = await initProject();
    const r = JSON.parse((await ukernel(["pack", "--json"], dir)).stdout);
    const fc = await run(["firecracker", "--no-api", "--config-file", "firecracker.json"], { cwd: r.dir, timeoutMs: 60_000 });
    assert.match(fc.stdout, /^hello from a Zigu workload$/m);
    assert.match(fc.stdout, /^zigu: exit 0$/m);
    assert.equal(fc.exitCode, 0);
  });
});

describe("errors a user can cause", () => {
  const cases: [string, (dir: string) => void, RegExp][] = [
    ["TOML syntax error", (d) => writeFileSync(join(d, "ukernel.toml"), "[workload\nname = 1\n"), /^error: ukernel\.toml:1:\d+: TOML syntax error/m],
    ["unterminated string", (d) => edit(d, "ukernel.toml", /^name = "([^"]*)"$/m, 'name = "$1'), /^error: ukernel\.toml:3:\d+: TOML syntax error: unterminated string: the " at column 8 is not closed before the end of the line$/m],
    ["unknown key", (d) => edit(d, "ukernel.toml", "vcpus = 1", "vcpus = 1\ncpus = 2"), /^error: ukernel\.toml:9: vm\.cpus: no key "cpus" here \(unknown keys are errors; known: vcpus, memory_mib/m],
    ["wrong type", (d) => edit(d, "ukernel.toml", "memory_mib = 256", 'memory_mib = "lots"'), /^error: ukernel\.toml:9: vm\.memory_mib: expected number, found the string "lots"$/m],
    ["unknown capability", (d) => edit(d, "ukernel.toml", 'allow = ["log", "time"]', 'allow = ["log", "disk"]'), /^error: ukernel\.toml:17: capabilities\.allow\[1\]: expected one of .*"random", found the string "disk"$/m],
    ["bad environment name", (d) => writeFileSync(join(d, "ukernel.toml"), `${readFileSync(join(d, "ukernel.toml"), "utf8")}\n[env]\nPATH = "/bin"\nBAD = 3\n`), /^error: ukernel\.toml:\d+: env\.BAD: expected string, found number 3$/m],
    ["missing entry file", (d) => rmSync(join(d, "src", "main.zig")), /^error: ukernel\.toml:4: workload\.entry: the file src\/main\.zig does not exist$/m],
  ];
  for (const [name, breakIt, message] of cases) {
    test(`${name}: one clear line naming file, line and key; exit 2`, async () => {
      const dir = await initProject();
      breakIt(dir);
      const r = await ukernel(["run"], dir);
      assert.equal(r.exitCode, 2);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace for a user error");
    });
  }

  test("no project: says how to make one", async () => {
    const r = await ukernel(["run"], newProject());
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /no ukernel\.toml in .*\nhint: run `ukernel init`/);
  });

  test("missing QEMU or Firecracker: the message says what to install", async () => {
    const dir = await initProject();
    const bare = { ...process.env, PATH: "/nonexistent" };
    const q = await run([process.execPath, cli, "run"], { cwd: dir, env: bare, timeoutMs: 60_000 });
    assert.equal(q.exitCode, 2);
    assert.match(q.stderr, /qemu-system-x86_64 not found\nhint: .*apt-get install -y qemu-system-x86/);
    const f = await run([process.execPath, cli, "run", "--vmm", "firecracker"], { cwd: dir, env: bare, timeoutMs: 60_000 });
    assert.equal(f.exitCode, 2);
    assert.match(f.stderr, /firecracker not found on PATH/);
  });

  test("every command has --help", async () => {
    for (const cmd of ["init", "build", "run", "logs", "runs", "adapter"]) {
      const r = await ukernel([cmd, "--help"], newProject());
      assert.equal(r.exitCode, 0, cmd);
      assert.match(r.stdout, new RegExp(`Usage: ukernel ${cmd}`));
    }
  });
});

describe("what a run learns about the host", () => {
  test("the first run's probed gate and kvmclock TSC frequency go on the next run's command line; ZIGU_HOST_CACHE=off probes again", async () => {
    const dir = await initProject();
    const env = { ...process.env, XDG_CACHE_HOME: mkdtempSync(join(tmpdir(), "zigu-cache-")) };
    const first = await ukernel(["run"], dir, env);
    assert.equal(first.exitCode, 0, first.stderr);
    const m = /^zigu \S+: boot \d+ us, gate (trap|syscall) \(probed\), tsc (\d+) kHz \(([^)]+)\)/m.exec(first.stdout);
    assert.ok(m, first.stdout);
    const facts = JSON.parse(readFileSync(join(env.XDG_CACHE_HOME, "zigu", "host.json"), "utf8"));
    const mine = Object.values(facts)[0] as { gates: Record<string, string>; tscHz?: number };
    assert.equal(Object.values(mine.gates)[0], m[1]);
    const second = await ukernel(["run"], dir, env);
    assert.equal(second.exitCode, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`gate ${m[1]} \\(forced\\)`), second.stdout);
    if (m[3] === "kvmclock") assert.match(second.stdout, /tsc \d+ kHz \(zigu\.tsc_hz\)/, second.stdout);
    // The second run's own record (two runs can start in the same second: ids do not sort by time).
    const id = /\[ukernel\] run (\S+): /.exec(second.stderr)?.[1];
    assert.ok(id, second.stderr);
    const vmm = JSON.parse(readFileSync(join(dir, ".ukernel", "runs", id, "vmm.json"), "utf8"));
    assert.match(JSON.stringify(vmm), new RegExp(`zigu\\.gate=${m[1]}`));
    const off = await ukernel(["run"], dir, { ...env, ZIGU_HOST_CACHE: "off" });
    assert.match(off.stdout, /gate (trap|syscall) \(probed\)/, off.stdout);
    // A cache file that is not JSON is relearnt, not an error.
    writeFileSync(join(env.XDG_CACHE_HOME, "zigu", "host.json"), "{not json");
    const again = await ukernel(["run"], dir, env);
    assert.equal(again.exitCode, 0, again.stderr);
    assert.match(again.stdout, /gate (trap|syscall) \(probed\)/, again.stdout);
  });
});

describe("ukernel.toml's memory", () => {
  test("the TypeScript sample runs in a 16 MiB guest under an 8 MiB memory limit", { skip: !jsDepsReady() && "the runtime's archives are not built (./scripts/setup)" }, async () => {
    const dir = newProject();
    assert.equal((await ukernel(["init", "."], dir)).exitCode, 0);
    edit(dir, "ukernel.toml", "memory_mib = 256", "memory_mib = 16");
    edit(dir, "ukernel.toml", /args = \[\]/, "args = []\nmemory_limit_mib = 8");
    const r = await ukernel(["run", "--verbose"], dir);
    assert.match(r.stdout, /\(root image, policy "log,time", memory limit 8 MiB\)/, r.stdout + r.stderr);
    assert.match(r.stdout, /^hello from a Zigu workload\nslept at least 10 ms\nzigu: exit 0$/m, r.stdout + r.stderr);
    assert.equal(r.exitCode, 0, r.stderr);
  });
});
