//! The gateway is asked for its MAC (ARP) as soon as the interface has its address, so that the
//! first burst of connections from it (QEMU's user network connects to the guest from 10.0.2.2,
//! the gateway) finds both neighbour tables filled: no ARP round trip before the SYN-ACKs.

mod common;
use common::*;
use zigu_net::abi::*;

fn with_gateway(ip: &str, mac_last: u8, listen: &str, gateway: &str) -> String {
    info(ip, mac_last, listen, "10.0.0.0/24:*").replace("gateway=10.0.0.254", &format!("gateway={gateway}"))
}

#[test]
fn gateway_is_resolved_when_the_interface_comes_up() {
    // A (the server) has B as its gateway, as the guest has QEMU's 10.0.2.2; B (the gateway, and
    // the one that connects) points nowhere useful, as slirp's own address needs no ARP.
    let mut p = Pair::with_policies(with_gateway("10.0.0.1", 1, "80", "10.0.0.2"), with_gateway("10.0.0.2", 2, "", "10.0.0.254"));
    let l = p.a.tcp_listen(80, 32);
    assert!(l > 0, "listen: {l}");
    // The request goes out with the first socket call, before any poll.
    let asked_at_once = p.wire.borrow().arp[0];
    let u = p.b.udp_bind(0); // B's stack starts (it answers ARP from then on)
    assert!(u > 0);
    for _ in 0..5 {
        p.step(100);
    }
    let before = p.wire.borrow().arp;
    // A burst of connections from the gateway: every SYN-ACK goes out in the poll that saw the
    // SYN, and no ARP frame moves either way.
    let conns: Vec<u64> = (0..20).map(|_| p.b.tcp_connect(A_ADDR, 80) as u64).collect();
    assert!(conns.iter().all(|&c| c > 0));
    let mut accepted = Vec::new();
    let mut steps = 0;
    while accepted.len() < conns.len() {
        steps += 1;
        assert!(steps < 50, "only {} of {} accepted after {steps} steps", accepted.len(), conns.len());
        p.step(100);
        loop {
            let r = p.a.tcp_accept(l as u64);
            if r < 0 {
                assert_eq!(r, ERR_WOULD_BLOCK);
                break;
            }
            accepted.push(r as u64);
        }
    }
    assert_eq!(p.wire.borrow().arp, before, "ARP frames during the burst (A, B)");
    // SYNs, SYN-ACKs, ACKs: a few steps of 100 µs, not smoltcp's ARP retry a second later.
    assert!(steps <= 4, "accepted after {steps} steps");
    assert_eq!(asked_at_once, 1, "A's ARP request for its gateway with the first socket call");
    assert_eq!(before, [1, 2], "A's request; B's reply and B's request for its own gateway");
}

#[test]
fn no_request_for_a_gateway_off_our_network_or_without_one() {
    let mut p = Pair::with_policies(with_gateway("10.0.0.1", 1, "80", "192.168.1.1"), info("10.0.0.2", 2, "", "10.0.0.0/24:*").replace("gateway=10.0.0.254\n", ""));
    assert!(p.a.tcp_listen(80, 1) > 0);
    assert!(p.b.udp_bind(0) > 0);
    for _ in 0..5 {
        p.step(100);
    }
    assert_eq!(p.wire.borrow().arp, [0, 0]);
}
