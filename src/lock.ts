/**
 * A lock between ukernel processes on one project: a directory made exclusively, holding the
 * owner's pid. Two runs started at once (a test runner, two terminals) then build, pack or make a
 * snapshot one after the other instead of over each other's files. A lock whose process is gone is
 * taken over.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { UserError } from "./errors.ts";

export async function withLock<T>(lock: string, o: { what: string; timeoutMs: number; note?: (line: string) => void }, work: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(lock), { recursive: true });
  const deadline = performance.now() + o.timeoutMs;
  let told = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let pid = NaN;
    try {
      pid = Number(readFileSync(join(lock, "pid"), "utf8"));
    } catch {
      // made a moment ago: its pid is not written yet
    }
    let alive = true;
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 0);
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === "EPERM";
      }
    }
    if (!alive) {
      rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (!told) {
      o.note?.(`another ukernel${Number.isInteger(pid) ? ` (pid ${pid})` : ""} is ${o.what}: waiting`);
      told = true;
    }
    if (performance.now() > deadline) throw new UserError(`waited ${Math.round(o.timeoutMs / 1000)} s for another ukernel ${o.what}`, `remove ${lock} if no other ukernel is running`);
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await work();
  } finally {
    if (existsSync(lock)) rmSync(lock, { recursive: true, force: true });
  }
}
