/** Just enough ELF64 reading for the tests and the bench: load segments and notes of an image. */
import { readFileSync, writeFileSync } from "node:fs";

export interface ProgramHeader {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  fileSize: number;
  memSize: number;
  align: number;
}

export const PT_LOAD = 1;
export const PT_NOTE = 4;

export function programHeaders(path: string): { entry: number; headers: ProgramHeader[] } {
  const b = readFileSync(path);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) throw new Error(`${path}: not a little-endian ELF64 file`);
  const entry = Number(b.readBigUInt64LE(24));
  const phoff = Number(b.readBigUInt64LE(32));
  const phentsize = b.readUInt16LE(54);
  const phnum = b.readUInt16LE(56);
  const headers: ProgramHeader[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    headers.push({
      type: b.readUInt32LE(o),
      flags: b.readUInt32LE(o + 4),
      offset: Number(b.readBigUInt64LE(o + 8)),
      vaddr: Number(b.readBigUInt64LE(o + 16)),
      fileSize: Number(b.readBigUInt64LE(o + 32)),
      memSize: Number(b.readBigUInt64LE(o + 40)),
      align: Number(b.readBigUInt64LE(o + 48)),
    });
  }
  return { entry, headers };
}

/** Bytes the image occupies once loaded: the highest end of its PT_LOAD segments. */
export function loadedEnd(path: string): number {
  return Math.max(...programHeaders(path).headers.filter((h) => h.type === PT_LOAD).map((h) => h.vaddr + h.memSize));
}

/**
 * A copy of an image whose PT_NOTE headers are turned into PT_NULL: VMMs then find no PVH entry
 * note and boot it by the Linux 64-bit protocol through the ELF entry (as Firecracker does).
 */
export function withoutNotes(path: string, outPath: string): void {
  const b = Buffer.from(readFileSync(path));
  const phoff = Number(b.readBigUInt64LE(32));
  const phentsize = b.readUInt16LE(54);
  const phnum = b.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (b.readUInt32LE(o) === PT_NOTE) b.writeUInt32LE(0, o);
  }
  writeFileSync(outPath, b);
}
