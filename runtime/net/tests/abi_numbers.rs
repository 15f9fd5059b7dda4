//! The library's ABI numbers agree with include/ukernel_abi.h (generated from abi/spec.ts).

#[test]
fn numbers_match_the_header() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../include/ukernel_abi.h");
    let header = std::fs::read_to_string(path).expect("include/ukernel_abi.h");
    for (name, value) in zigu_net::abi::NAMED {
        let line = header
            .lines()
            .find(|l| l.starts_with("#define ") && l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("{name} is not in the header"));
        let v = line.split_whitespace().nth(2).unwrap().trim_matches(|c| c == '(' || c == ')');
        assert_eq!(v.parse::<i64>().unwrap(), *value, "{name}");
    }
    // Every library call has the prototype the library exports.
    for proto in [
        "int64_t uk_tcp_listen(uint32_t port, uint32_t backlog);",
        "int64_t uk_tcp_accept(uk_handle_t listener);",
        "int64_t uk_tcp_connect(uint32_t addr, uint32_t port);",
        "int64_t uk_sock_send(uk_handle_t sock, const void *buf, uint64_t len);",
        "int64_t uk_sock_recv(uk_handle_t sock, void *buf, uint64_t len);",
        "int64_t uk_sock_shutdown(uk_handle_t sock);",
        "int64_t uk_udp_bind(uint32_t port);",
        "int64_t uk_udp_send_to(uk_handle_t sock, const void *buf, uint64_t len, uint64_t to);",
        "int64_t uk_udp_recv_from(uk_handle_t sock, void *buf, uint64_t len, void *from);",
        "int64_t uk_dns_query(const void *name, uint64_t len);",
        "int64_t uk_dns_result(uk_handle_t query, void *addrs, uint64_t max);",
        "int64_t uk_sys_net_recv(uk_handle_t dev, const struct uk_iovec *frames, uint64_t count, void *lens);",
        "int64_t uk_sys_mem_map(uint64_t len);",
    ] {
        assert!(header.contains(proto), "the header changed: {proto}");
    }
    assert!(header.contains("struct uk_iovec {\n    uint64_t ptr;\n    uint64_t len;\n};"));
    assert!(header.contains("struct uk_event {\n    uint64_t user_data;\n    uint32_t events;\n    uint32_t reserved;\n};"));
}
