// The kernel ELF itself: what the VMM loaders need (PVH note, 64-bit entry at or above 1 MiB) and
// what the kernel assumes about its own extent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { accelerators, boot, kernel } from "./harness.ts";
import { loadedEnd, programHeaders, PT_LOAD, PT_NOTE } from "../../src/elf.ts";
import { releaseOptimize, type Optimize } from "../../src/zig.ts";

for (const optimize of ["Debug", releaseOptimize] as Optimize[]) {
  test(`${optimize}: the ELF has a 4-byte aligned PVH note and a 64-bit entry at or above 1 MiB`, async () => {
    const k = await kernel(optimize);
    const { entry, headers } = programHeaders(k.kernel);
    assert.ok(entry >= 0x100000, `entry 0x${entry.toString(16)}`);
    const note = headers.find((h) => h.type === PT_NOTE);
    assert.ok(note, "no PT_NOTE header");
    assert.equal(note.align, 4);
    const bytes = readFileSync(k.kernel).subarray(note.offset, note.offset + note.fileSize);
    assert.equal(bytes.readUInt32LE(0), 4); // name size
    assert.equal(bytes.readUInt32LE(8), 18); // XEN_ELFNOTE_PHYS32_ENTRY
    assert.equal(bytes.subarray(12, 15).toString(), "Xen");
    const pvhEntry = bytes.readUInt32LE(16);
    assert.ok(headers.some((h) => h.type === PT_LOAD && (h.flags & 1) && pvhEntry >= h.vaddr && pvhEntry < h.vaddr + h.memSize), "PVH entry outside code");
  });

  test(`${optimize}: every loaded byte of the kernel lies inside the range it reserves from its allocator`, async () => {
    const k = await kernel(optimize);
    const r = await boot(accelerators()[0] ?? "tcg", "zigu.workload=hello zigu.verbose=1", { optimize });
    const m = /zigu: image 0x([0-9a-f]+)-0x([0-9a-f]+),/.exec(r.console);
    assert.ok(m?.[1] && m[2], r.console);
    assert.equal(parseInt(m[1], 16), 0x100000);
    assert.ok(loadedEnd(k.kernel) <= parseInt(m[2], 16), `loaded end 0x${loadedEnd(k.kernel).toString(16)} > __kernel_end 0x${m[2]}`);
  });
}
