/** Reading a guest's serial console: the kernel's last line states the workload's exit status. */

export type GuestEnd =
  | { kind: "exit"; status: number }
  | { kind: "no-exit-line" };

const exitLine = /^zigu: exit (\d{1,3})$/;

/** The exit status from the console's last `zigu: exit N` line, which must be the last line. */
export function guestEnd(console: string): GuestEnd {
  const lines = console.replaceAll("\r", "").split("\n").filter((l) => l.length > 0);
  const last = lines.at(-1);
  const m = last === undefined ? null : exitLine.exec(last);
  if (m?.[1] === undefined) return { kind: "no-exit-line" };
  return { kind: "exit", status: Number(m[1]) };
}

/** Exit statuses the kernel reports beside the workload's own 0..127 codes. */
export const status = {
  kernelPanic: 255,
  /** A workload fault is 128 + the exception vector. */
  workloadFault: (vector: number) => 128 + vector,
} as const;
