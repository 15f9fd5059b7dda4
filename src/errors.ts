/** An error the user can cause and fix: printed as its message and hint, without a stack. The
 * CLI exits 2 (a usage or configuration error) unless `exitCode` says otherwise. */
export class UserError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;
  constructor(message: string, hint?: string, exitCode = 2) {
    super(message);
    this.name = "UserError";
    this.hint = hint;
    this.exitCode = exitCode;
  }
}

/** The program does not compile (type check, bundle, Zig): exit status 1, as tsc and cargo use. */
export class BuildError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, hint, 1);
    this.name = "BuildError";
  }
}
