// The byte streams the HTTP layer runs over. In the guest they are backed by the kernel's sockets
// (through io_poll); on the host (tests, tools) by node:net. Chunks are plain Uint8Arrays: the guest
// has no Buffer.

/** One connected stream socket. */
export interface Socket {
  /** The next chunk received, or null at the end of the stream (the peer's FIN, or after close()). */
  read(): Promise<Uint8Array | null>;
  /** Resolves once the bytes are handed to the transport; rejects if the connection is gone. */
  write(data: Uint8Array): Promise<void>;
  /** Sends FIN after the pending writes; reading stays possible. */
  shutdown(): void;
  /** Releases the socket at once; a pending read resolves null. */
  close(): void;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
}

/** A listening socket. accept() rejects once the listener is closed. */
export interface Listener {
  accept(): Promise<Socket>;
  close(): void;
  readonly port: number;
}

/** Opens a connection, as fetch() needs it: host is a name or an address (IPv6 without brackets). */
export type Connect = (host: string, port: number) => Promise<Socket>;
