//! Nothing: the stand-in for the guest's C functions (user/ukernel_abi_guest.zig) in workloads
//! that do not link them through user/start.zig.
