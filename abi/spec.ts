/**
 * The one source of the ABI's numbers: error codes, capability kinds, calls, event flags, log
 * levels, clocks and limits. `npm run gen:abi` writes the Zig, C, TypeScript and Python definitions
 * from it (abi/generate.ts); tests/abi/generated.test.ts fails when a generated file is stale.
 * Change a number here, never in a generated file.
 */

export interface Constant {
  name: string;
  value: number;
  doc: string;
}

/** A limit: a number, or the name of a constant in `limits` or `taskLimits`. */
export type Bound = number | string;

export interface Arg {
  name: string;
  /**
   * u32: the low half of its register (SysV lets a C caller leave garbage in the high half);
   * u64, i64, handle: the whole register; code: an address the workload executes;
   * in: memory the kernel reads, out: memory the kernel writes, each `bytes` long;
   * in_vec, out_vec: an array of `count` (pointer, length) descriptors in workload memory, each
   * descriptor's range checked like `in`/`out` (at most `max` descriptors).
   */
  type: "u64" | "i64" | "u32" | "handle" | "code" | "in" | "out" | "in_vec" | "out_vec";
  /** in/out: the argument that holds the length, times `elemBytes` (default 1); or a fixed size. */
  bytes?: { arg: string; elemBytes?: number } | { fixed: number };
  /** in_vec/out_vec: the argument that holds the descriptor count. */
  count?: string;
  /** Range checks, all before any pointer is looked at: below `min` or above `max` is ERR_INVALID. */
  min?: Bound;
  max?: Bound;
  /** The value must be a whole multiple of this (mem_map's page granularity), else ERR_INVALID. */
  multipleOf?: Bound;
  /** Taken down to this value instead of refused (io_poll's max). */
  clamp?: Bound;
  /** The value must be one of this group's constants (e.g. "logLevels"), else ERR_INVALID. */
  oneOf?: "logLevels" | "clocks";
  /** in/out: the element type for typed FFI declarations (koffi); the C header says void. */
  elem?: "char" | "uint8_t" | "uint32_t" | "uint64_t" | "uk_event";
}

export interface Call {
  name: string;
  nr: number;
  /** Capability kind that must be active, or null for calls every workload may make. */
  cap: string | null;
  args: Arg[];
  doc: string;
  /**
   * Where the call is carried out: "kernel" (behind the gate, decoded by the generated
   * kernel/core/call_args.zig) or "library" (by a ring-3 library in the guest and by the host library,
   * over kernel calls: the network's sockets will be such calls). Default "kernel".
   */
  home?: "kernel" | "library";
  /**
   * A kernel call that the guest's network library sees first when it is linked (runtime/net):
   * it takes its own handles (sockets) and passes the kernel's on, through `uk_sys_<name>`.
   */
  folded?: boolean;
  /**
   * A kernel call the guest library answers in ring 3 when it can, without a kernel entry
   * (`clock_now`: from the clock page while CAP_TIME is active), else it makes the call: the guest's
   * `uk_<name>` goes through `zigu.ring3.<name>` (user/zigu.zig), `uk_sys_<name>` to the kernel.
   */
  ring3?: boolean;
}

export const abiVersion = 1;

/** An error code; `className` names its exception in the adapters, `pyBase` a Python builtin it also is. */
export interface ErrorCode extends Constant {
  className?: string;
  pyBase?: string;
}

export const errors: ErrorCode[] = [
  { name: "OK", value: 0, doc: "Success." },
  { name: "ERR_PERMISSION", value: -1, doc: "The call's capability is not active, or the policy refuses the capability.", className: "CapabilityError", pyBase: "PermissionError" },
  { name: "ERR_BAD_HANDLE", value: -2, doc: "Not a live handle: closed (stale generation), forged, or of the wrong type.", className: "BadHandleError" },
  { name: "ERR_BAD_POINTER", value: -3, doc: "A pointer or length from the workload does not lie in its own mapped memory.", className: "BadPointerError" },
  { name: "ERR_INVALID", value: -4, doc: "An argument is out of range.", className: "InvalidArgumentError" },
  { name: "ERR_NO_SPACE", value: -5, doc: "A bounded table is full (handles, registrations, mappings), or the workload's memory limit is reached.", className: "NoSpaceError" },
  { name: "ERR_NO_SYS", value: -6, doc: "No such call.", className: "NoSuchCallError" },
  { name: "ERR_UNSUPPORTED", value: -7, doc: "The call exists but this machine cannot do it (e.g. no wall clock).", className: "UnsupportedError" },
  { name: "ERR_EXISTS", value: -8, doc: "Already so (a handle registered twice with io_poll, a port already listened on, a device already open).", className: "ExistsError" },
  { name: "ERR_WOULD_BLOCK", value: -9, doc: "Not now: nothing to read, no room to write, no connection to accept. Wait for the event with io_poll.", className: "WouldBlockError", pyBase: "BlockingIOError" },
  { name: "ERR_CONNECTION", value: -10, doc: "The connection failed: refused, reset by the peer, or timed out.", className: "ConnectionFailedError", pyBase: "ConnectionError" },
  { name: "ERR_NOT_ALLOWED", value: -11, doc: "The network policy ([network] in ukernel.toml) names no such listen port or destination.", className: "NetworkPolicyError", pyBase: "PermissionError" },
  { name: "ERR_NOT_FOUND", value: -12, doc: "A name does not resolve: the resolver has no IPv4 address for it, or did not answer.", className: "NameNotFoundError", pyBase: "OSError" },
];

/** Capability kinds; a kind's bit in a mask is 1 << kind. */
export const capabilities: Constant[] = [
  { name: "CAP_LOG", value: 1, doc: "Write to the console log." },
  { name: "CAP_TIME", value: 2, doc: "Read clocks, create timers." },
  { name: "CAP_TASK", value: 3, doc: "Spawn, yield to and join cooperative tasks in the workload's address space." },
  { name: "CAP_IO", value: 4, doc: "Block devices and files (not built yet)." },
  { name: "CAP_NET", value: 5, doc: "The network: the frame device (kernel) and the sockets over it (the network library), within the network policy." },
  { name: "CAP_RANDOM", value: 6, doc: "Random bytes from the CPU's generator." },
];

export const events: Constant[] = [
  { name: "EV_READABLE", value: 1, doc: "Readable; for a timer: it has fired." },
  { name: "EV_WRITABLE", value: 2, doc: "Writable." },
  { name: "EV_HANGUP", value: 4, doc: "The other end is gone, or the handle was closed while registered." },
  { name: "EV_TIMER", value: 8, doc: "The event comes from a timer." },
];

export const logLevels: Constant[] = [
  { name: "LOG_ERROR", value: 1, doc: "" },
  { name: "LOG_WARN", value: 2, doc: "" },
  { name: "LOG_INFO", value: 3, doc: "" },
  { name: "LOG_DEBUG", value: 4, doc: "" },
];

export const clocks: Constant[] = [
  { name: "CLOCK_MONOTONIC", value: 0, doc: "Nanoseconds since boot; never goes back." },
  { name: "CLOCK_WALL", value: 1, doc: "Nanoseconds since the Unix epoch, where the machine has a clock." },
];

export const limits: Constant[] = [
  { name: "MAX_HANDLES", value: 256, doc: "Live handles per workload." },
  { name: "MAX_LOG_BYTES", value: 4096, doc: "Bytes in one log call." },
  { name: "MAX_POLL_EVENTS", value: 64, doc: "Events one io_poll call returns at most." },
  { name: "MAX_RANDOM_BYTES", value: 4096, doc: "Bytes in one random call." },
  { name: "MAX_TASKS", value: 32, doc: "Tasks per workload, the initial one included." },
  { name: "TIMEOUT_INFINITE", value: -1, doc: "io_poll timeout: wait until an event." },
  { name: "MIN_TASK_STACK_BYTES", value: 4096, doc: "Smallest stack task_spawn accepts." },
  { name: "MAX_TASK_STACK_BYTES", value: 64 << 20, doc: "Largest stack task_spawn accepts (the kernel checks it page by page)." },
  { name: "PAGE_BYTES", value: 4096, doc: "mem_map and mem_unmap lengths are whole multiples of this." },
  { name: "LARGE_PAGE_BYTES", value: 2 << 20, doc: "A mapping whose length is a multiple of this starts on such a boundary and is mapped with 2 MiB pages." },
  { name: "MAX_MAP_BYTES", value: 2 ** 34, doc: "Largest length one mem_map call accepts (16 GiB; the workload's memory limit usually refuses less)." },
  { name: "MAX_MAPPINGS", value: 256, doc: "Live mem_map mappings per workload." },
  { name: "MAX_NET_BATCH", value: 32, doc: "Frames one net_send or net_recv call moves at most." },
  { name: "MAX_FRAME_BYTES", value: 1514, doc: "Largest Ethernet frame (header included, no FCS) net_send takes; every net_recv buffer must hold this many." },
  { name: "MIN_FRAME_BYTES", value: 14, doc: "Smallest frame net_send takes: an Ethernet header." },
  { name: "MAX_NET_INFO_BYTES", value: 4096, doc: "Largest net_info text." },
  { name: "MAX_DNS_NAME_BYTES", value: 253, doc: "Longest host name dns_query takes (dotted text, no trailing dot)." },
  { name: "MAX_DNS_ADDRS", value: 4, doc: "Addresses one dns_result gives at most." },
];

export const calls: Call[] = [
  { name: "exit", nr: 0, cap: null, args: [{ name: "status", type: "u32" }], doc: "Ends the workload with status 0..255 (the low byte). Does not return." },
  { name: "log", nr: 1, cap: "CAP_LOG", args: [{ name: "level", type: "u32", oneOf: "logLevels" }, { name: "msg", type: "in", bytes: { arg: "len" }, elem: "char" }, { name: "len", type: "u64", max: "MAX_LOG_BYTES" }], doc: "Writes one line to the console." },
  { name: "clock_now", ring3: true, nr: 2, cap: "CAP_TIME", args: [{ name: "clock", type: "u32", oneOf: "clocks" }], doc: "Reads a clock, in nanoseconds (a non-negative result)." },
  { name: "cap_acquire", nr: 3, cap: null, args: [{ name: "kind", type: "u32" }], doc: "A capability handle for `kind`, if the policy allows it and it was never dropped." },
  { name: "cap_enter", nr: 4, cap: null, args: [{ name: "handles", type: "in", bytes: { arg: "count", elemBytes: 8 }, elem: "uint64_t" }, { name: "count", type: "u64", max: "MAX_HANDLES" }], doc: "Activates the capabilities behind `count` handles (all or none)." },
  { name: "cap_drop", nr: 5, cap: null, args: [{ name: "kind", type: "u32" }], doc: "Deactivates `kind` for good: it can never be acquired or entered again." },
  { name: "handle_close", folded: true, nr: 6, cap: null, args: [{ name: "handle", type: "handle" }], doc: "Closes a handle; its value is refused from then on." },
  { name: "timer_create", nr: 7, cap: "CAP_TIME", args: [], doc: "A disarmed timer handle." },
  { name: "timer_arm", nr: 8, cap: "CAP_TIME", args: [{ name: "timer", type: "handle" }, { name: "delay_ns", type: "u64" }, { name: "period_ns", type: "u64" }], doc: "Fires after `delay_ns`, then every `period_ns` if non-zero. delay 0 and period 0 disarms." },
  { name: "io_register", folded: true, nr: 9, cap: null, args: [{ name: "handle", type: "handle" }, { name: "interest", type: "u32" }, { name: "user_data", type: "u64" }], doc: "Adds a handle to the poll set." },
  { name: "io_unregister", folded: true, nr: 10, cap: null, args: [{ name: "handle", type: "handle" }], doc: "Removes a handle from the poll set." },
  { name: "io_poll", folded: true, nr: 11, cap: null, args: [{ name: "events", type: "out", bytes: { arg: "max", elemBytes: 16 }, elem: "uk_event" }, { name: "max", type: "u64", min: 1, clamp: "MAX_POLL_EVENTS" }, { name: "timeout_ns", type: "i64", min: "TIMEOUT_INFINITE" }], doc: "Waits for readiness of registered handles; returns the number of events written." },
  { name: "random", nr: 12, cap: "CAP_RANDOM", args: [{ name: "buf", type: "out", bytes: { arg: "len" }, elem: "uint8_t" }, { name: "len", type: "u64", max: "MAX_RANDOM_BYTES" }], doc: "Fills `buf` with random bytes." },
  { name: "nop", nr: 13, cap: null, args: [], doc: "Does nothing and returns 0: the bare cost of entering the kernel." },
  { name: "task_spawn", nr: 14, cap: "CAP_TASK", args: [{ name: "entry", type: "code" }, { name: "arg", type: "u64" }, { name: "stack", type: "out", bytes: { arg: "stack_len" }, elem: "uint8_t" }, { name: "stack_len", type: "u64", min: "MIN_TASK_STACK_BYTES", max: "MAX_TASK_STACK_BYTES" }], doc: "A task handle; the task runs `entry(arg)` on the stack [stack, stack + stack_len) (workload memory, at least 4 KiB) once the running task yields or waits. A task ends with task_exit; returning from entry is a fault." },
  { name: "task_yield", nr: 15, cap: "CAP_TASK", args: [], doc: "Lets the other ready tasks run; returns 0 when this one runs again." },
  { name: "task_exit", nr: 16, cap: "CAP_TASK", args: [{ name: "status", type: "u32" }], doc: "Ends the calling task (not the initial one: it ends the workload with exit). Does not return." },
  { name: "task_join", nr: 17, cap: "CAP_TASK", args: [{ name: "task", type: "handle" }], doc: "Waits until the task has ended; returns its status (0..255). A task handle registered with io_poll becomes readable when its task ends." },
  { name: "mem_map", nr: 18, cap: null, args: [{ name: "len", type: "u64", min: "PAGE_BYTES", max: "MAX_MAP_BYTES", multipleOf: "PAGE_BYTES" }], doc: "Maps `len` bytes of fresh memory (zero-filled, readable and writable, never executable) and returns its address. Counted against the workload's memory limit: over it, ERR_NO_SPACE." },
  { name: "mem_unmap", nr: 19, cap: null, args: [{ name: "addr", type: "u64" }, { name: "len", type: "u64", min: "PAGE_BYTES", max: "MAX_MAP_BYTES", multipleOf: "PAGE_BYTES" }], doc: "Unmaps one whole mapping that mem_map returned (the same address and length), giving its memory back to the limit. Anything else is ERR_INVALID." },
  // The network. The kernel moves Ethernet frames (20-23); the sockets (24-32) are the network
  // library's (a TCP/IP stack in ring 3 in the guest, the host's sockets in libukernel_abi.so).
  { name: "net_open", nr: 20, cap: "CAP_NET", args: [], doc: "A handle on the network device: readable when frames have arrived, writable when the device takes frames. ERR_UNSUPPORTED without a device, ERR_EXISTS while another handle is open." },
  { name: "net_info", nr: 21, cap: "CAP_NET", args: [{ name: "dev", type: "handle" }, { name: "buf", type: "out", bytes: { arg: "len" }, elem: "char" }, { name: "len", type: "u64", max: "MAX_NET_INFO_BYTES" }], doc: "Writes the device and its policy as `key=value` lines (mac, mtu, tsc_hz, address, gateway, dns, listen, connect; docs/kernel-abi.md) and returns their length; ERR_NO_SPACE when `len` cannot hold them." },
  { name: "net_send", nr: 22, cap: "CAP_NET", args: [{ name: "dev", type: "handle" }, { name: "frames", type: "in_vec", count: "count", max: "MAX_NET_BATCH" }, { name: "count", type: "u64", max: "MAX_NET_BATCH" }], doc: "Sends up to `count` frames (each MIN_FRAME_BYTES..MAX_FRAME_BYTES, else ERR_INVALID before any is sent) and returns how many the device took; a frame the network policy refuses is taken, dropped and counted." },
  { name: "net_recv", nr: 23, cap: "CAP_NET", args: [{ name: "dev", type: "handle" }, { name: "frames", type: "out_vec", count: "count", max: "MAX_NET_BATCH" }, { name: "count", type: "u64", max: "MAX_NET_BATCH" }, { name: "lens", type: "out", bytes: { arg: "count", elemBytes: 8 }, elem: "uint64_t" }], doc: "Receives up to `count` frames into the buffers (each at least MAX_FRAME_BYTES), their lengths into `lens`; returns how many (0: none waiting). Frames the network policy refuses never arrive (they are counted)." },
  { name: "tcp_listen", nr: 24, cap: "CAP_NET", home: "library", args: [{ name: "port", type: "u32", min: 1, max: 65535 }, { name: "backlog", type: "u32" }], doc: "A listening TCP socket on `port` (a port the policy's listen list names, else ERR_NOT_ALLOWED): readable when a connection waits for tcp_accept." },
  { name: "tcp_accept", nr: 25, cap: "CAP_NET", home: "library", args: [{ name: "listener", type: "handle" }], doc: "The next connection on a listening socket, as a socket handle; ERR_WOULD_BLOCK when none waits." },
  { name: "tcp_connect", nr: 26, cap: "CAP_NET", home: "library", args: [{ name: "addr", type: "u32" }, { name: "port", type: "u32", min: 1, max: 65535 }], doc: "A TCP socket connecting to the IPv4 address `addr` (10.0.2.2 is 0x0A000202) and `port`, which the policy's connect list must name (else ERR_NOT_ALLOWED). Writable once connected; a failed connection reads as ERR_CONNECTION." },
  { name: "sock_send", nr: 27, cap: "CAP_NET", home: "library", args: [{ name: "sock", type: "handle" }, { name: "buf", type: "in", bytes: { arg: "len" }, elem: "uint8_t" }, { name: "len", type: "u64" }], doc: "Queues bytes on a connected TCP socket; returns how many (ERR_WOULD_BLOCK when none fit)." },
  { name: "sock_recv", nr: 28, cap: "CAP_NET", home: "library", args: [{ name: "sock", type: "handle" }, { name: "buf", type: "out", bytes: { arg: "len" }, elem: "uint8_t" }, { name: "len", type: "u64" }], doc: "Reads received bytes from a TCP socket; 0 once the peer has closed its side, ERR_WOULD_BLOCK when nothing waits." },
  { name: "sock_shutdown", nr: 29, cap: "CAP_NET", home: "library", args: [{ name: "sock", type: "handle" }], doc: "Closes the sending side of a TCP socket (the peer reads its end); receiving goes on." },
  { name: "udp_bind", nr: 30, cap: "CAP_NET", home: "library", args: [{ name: "port", type: "u32", max: 65535 }], doc: "A UDP socket on `port` (0: a free port for sending; a listening port must be in the policy's listen list)." },
  { name: "udp_send_to", nr: 31, cap: "CAP_NET", home: "library", args: [{ name: "sock", type: "handle" }, { name: "buf", type: "in", bytes: { arg: "len" }, elem: "uint8_t" }, { name: "len", type: "u64" }, { name: "to", type: "u64" }], doc: "Sends one datagram to `to` = IPv4 address << 16 | port (a destination the policy allows)." },
  { name: "udp_recv_from", nr: 32, cap: "CAP_NET", home: "library", args: [{ name: "sock", type: "handle" }, { name: "buf", type: "out", bytes: { arg: "len" }, elem: "uint8_t" }, { name: "len", type: "u64" }, { name: "from", type: "out", bytes: { fixed: 8 }, elem: "uint64_t" }], doc: "Receives one datagram (cut to `len`); its sender, address << 16 | port, goes to `from` (8 bytes). ERR_WOULD_BLOCK when none waits." },
  { name: "dns_query", nr: 33, cap: "CAP_NET", home: "library", args: [{ name: "name", type: "in", bytes: { arg: "len" }, elem: "char" }, { name: "len", type: "u64", min: 1, max: "MAX_DNS_NAME_BYTES" }], doc: "Starts resolving the host name `name` (its IPv4 addresses, from the policy's resolver; a dotted IPv4 address resolves to itself) and returns a query handle, readable once dns_result has the answer. A name that is not a host name is ERR_INVALID." },
  { name: "dns_result", nr: 34, cap: "CAP_NET", home: "library", args: [{ name: "query", type: "handle" }, { name: "addrs", type: "out", bytes: { arg: "max", elemBytes: 4 }, elem: "uint32_t" }, { name: "max", type: "u64", min: 1, max: "MAX_DNS_ADDRS" }], doc: "The answer to a dns_query: writes up to `max` IPv4 addresses (10.0.2.2 is 0x0A000202) and returns how many; ERR_WOULD_BLOCK while the resolver has not answered, ERR_NOT_FOUND when the name has no address or the resolver never answered (10 s). Close the query handle when done." },
  // The snapshot start's ready point (docs/snapshots.md).
  { name: "ready", nr: 35, cap: null, args: [], doc: "Declares the workload warm: the point a snapshot start resumes from. Returns 0 at once unless the launcher snapshots this run (`ukernel run --snapshot`, Firecracker: only the first call counts); then the VM is snapshotted inside the call, and each run restored from the snapshot returns from it with its restore count (1 or more), its clocks re-read and timers re-armed. The kernel's random bytes come from the CPU on every call; the workload must reseed any random state of its own when the result is above 0 (the JavaScript runtime reseeds Math.random)." },
];
