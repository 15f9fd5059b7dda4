// Root images a hostile or broken `ukernel pack` could hand the kernel: each one must end in one
// clear panic line and `zigu: exit 255`, quickly, never a hang or a fault.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createTar } from "tar";
import { accelerators, kernel } from "./harness.ts";
import { bootQemu, type Accel, type BootResult } from "../../src/vmm/qemu.ts";
import { status } from "../../src/console.ts";

let work = "";
let hello: Buffer;

before(async () => {
  work = mkdtempSync(join(tmpdir(), "zigu-rootimage-"));
  const k = await kernel("Debug");
  hello = readFileSync(join(k.workloadsDir, "hello"));
});

after(() => rmSync(work, { recursive: true, force: true }));

let count = 0;

/** A ustar image of `files`, as `ukernel pack` writes it. */
async function image(files: Record<string, Buffer | string>): Promise<string> {
  const dir = join(work, `staging-${count}`);
  const file = join(work, `image-${count++}.img`);
  mkdirSync(dir);
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  await createTar({ file, cwd: dir, portable: true, mtime: new Date(0), noDirRecurse: true }, Object.keys(files));
  return file;
}

async function bootImage(accel: Accel, drive: string): Promise<BootResult> {
  const k = await kernel("Debug");
  return bootQemu({ kernel: k.kernel, cmdline: "console=ttyS0 zigu.workload=disk", accel, drive, timeoutMs: 60_000 });
}

/** Rewrites the checksum of the ustar header at `offset` after an edit, so the edit itself is tested. */
function resum(tar: Buffer, offset: number): void {
  tar.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += tar[offset + i]!;
  tar.write(`${sum.toString(8).padStart(6, "0")}\0 `, offset + 148, "latin1");
}

function expectPanic(r: BootResult, message: RegExp): void {
  assert.equal(r.timedOut, false, r.console);
  assert.match(r.console, message, r.console);
  assert.deepEqual(r.end, { kind: "exit", status: status.kernelPanic }, r.console);
}

for (const accel of accelerators()) {
  describe(`root images, QEMU microvm, ${accel.toUpperCase()}`, () => {
    test("a well-formed image runs its workload under its own policy", async () => {
      const r = await bootImage(accel, await image({ policy: "log\n", "workload.elf": hello }));
      assert.match(r.console, /^hello from ring 3 /m, r.console);
      assert.deepEqual(r.end, { kind: "exit", status: 0 }, r.console);
    });

    test("a 1 MiB policy file is refused at once (it once took minutes to print)", async () => {
      const r = await bootImage(accel, await image({ policy: `log,${"x".repeat(1 << 20)}\n`, "workload.elf": hello }));
      expectPanic(r, /zigu: panic: root image: policy file of 1048581 bytes \(at most 4096\)/);
    });

    test("no policy file, no workload, an unknown capability", async () => {
      expectPanic(await bootImage(accel, await image({ "workload.elf": hello })), /zigu: panic: root image: no policy file/);
      expectPanic(await bootImage(accel, await image({ policy: "log\n" })), /zigu: panic: root image: no workload\.elf/);
      expectPanic(await bootImage(accel, await image({ policy: "log,disk\n", "workload.elf": hello })), /unknown capability/);
    });

    test("corrupt archives: bad checksum, bad size field, truncated entry, not a tar at all", async () => {
      const good = readFileSync(await image({ policy: "log\n", "workload.elf": hello }));
      const checksum = Buffer.from(good);
      checksum[0] = checksum[0]! ^ 0x20; // the first header's name changes under its checksum
      const sized = Buffer.from(good);
      sized.write("77777777777\0", 124, "latin1"); // first entry's size far past the image
      resum(sized, 0);
      const cases: [Buffer, RegExp][] = [
        [checksum, /root image: BadChecksum/],
        [sized, /root image: Truncated/],
        [good.subarray(0, 1024), /root image: (Truncated|no workload\.elf)/],
        [Buffer.alloc(8192, 0x41), /root image: BadHeader/],
      ];
      for (const [bytes, message] of cases) {
        const file = join(work, `raw-${count++}.img`);
        writeFileSync(file, bytes);
        expectPanic(await bootImage(accel, file), message);
      }
    });

    test("workload.elf that is no ELF, or whose segments lie outside the workload's window", async () => {
      expectPanic(await bootImage(accel, await image({ policy: "log\n", "workload.elf": "#!/bin/sh\necho hi\n".padEnd(200, " ") })), /workload image: BadMagic/);
      const moved = Buffer.from(hello);
      const phoff = Number(moved.readBigUInt64LE(32));
      moved.writeBigUInt64LE(0xffff_8000_0000_0000n, phoff + 16); // first PT_LOAD's vaddr: kernel half
      expectPanic(await bootImage(accel, await image({ policy: "log\n", "workload.elf": moved })), /workload image: SegmentOutsideWindow/);
    });
  });
}
