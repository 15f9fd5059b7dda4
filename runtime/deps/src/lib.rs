// Empty: this package only pins the crates whose sources the runtime is built from.
