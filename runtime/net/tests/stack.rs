//! Two library instances over an in-memory wire: connect/accept/echo, errors, readiness, UDP,
//! and an 8 MiB transfer over a lossy, reordering wire.

mod common;
use common::*;
use zigu_net::abi::*;
use zigu_net::handles;

fn send_all(n: &mut zigu_net::stack::Net<Mock>, h: u64, data: &[u8]) -> i64 {
    n.sock_send(h, data.as_ptr(), data.len() as u64)
}

fn recv(n: &mut zigu_net::stack::Net<Mock>, h: u64, max: usize) -> Result<Vec<u8>, i64> {
    let mut buf = vec![0u8; max];
    let r = n.sock_recv(h, buf.as_mut_ptr(), max as u64);
    if r < 0 {
        return Err(r);
    }
    buf.truncate(r as usize);
    Ok(buf)
}

/// A listener on A:80 and an accepted connection from B: (listener, server socket, client socket).
fn connected(p: &mut Pair) -> (u64, u64, u64) {
    let l = p.a.tcp_listen(80, 4);
    assert!(l > 0, "listen: {l}");
    let c = p.b.tcp_connect(A_ADDR, 80);
    assert!(c > 0, "connect: {c}");
    let (l, c) = (l as u64, c as u64);
    assert_eq!(handles::tag_of(l), handles::TAG_LISTENER);
    assert_eq!(handles::tag_of(c), handles::TAG_TCP);
    assert_eq!(p.a.tcp_accept(l), ERR_WOULD_BLOCK);
    let mut s = 0;
    p.until(1000, |p| {
        let r = p.a.tcp_accept(l);
        if r > 0 {
            s = r as u64;
            true
        } else {
            assert_eq!(r, ERR_WOULD_BLOCK);
            false
        }
    });
    (l, s, c)
}

#[test]
fn connect_accept_echo_and_close() {
    let mut p = Pair::new();
    let (l, s, c) = connected(&mut p);
    assert_eq!(p.b.io_register(c, EV_READABLE | EV_WRITABLE, 77), 0);
    assert_eq!(p.b.io_register(c, EV_READABLE, 78), ERR_EXISTS);
    p.until(100, |p| poll(&mut p.b).iter().any(|e| e.user_data == 77 && e.events & EV_WRITABLE != 0));
    assert_eq!(send_all(&mut p.b, c, b"hello, zigu"), 11);
    let mut got = Vec::new();
    p.until(100, |p| {
        if let Ok(d) = recv(&mut p.a, s, 100) {
            got.extend(d);
        }
        got.len() == 11
    });
    assert_eq!(got, b"hello, zigu");
    assert_eq!(recv(&mut p.a, s, 100), Err(ERR_WOULD_BLOCK));
    assert_eq!(send_all(&mut p.a, s, b"HELLO"), 5);
    let mut back = Vec::new();
    p.until(100, |p| {
        if let Ok(d) = recv(&mut p.b, c, 100) {
            back.extend(d);
        }
        back.len() == 5
    });
    assert_eq!(back, b"HELLO");
    // B closes its side: A reads the end (0) after the data, and can still send.
    assert_eq!(p.b.sock_shutdown(c), 0);
    p.until(100, |p| recv(&mut p.a, s, 100) == Ok(vec![]));
    assert_eq!(send_all(&mut p.a, s, b"bye"), 3);
    let mut tail = Vec::new();
    p.until(100, |p| {
        if let Ok(d) = recv(&mut p.b, c, 100) {
            tail.extend(d);
        }
        tail.len() == 3
    });
    assert_eq!(tail, b"bye");
    assert_eq!(p.a.handle_close(s), 0);
    p.until(100, |p| recv(&mut p.b, c, 100) == Ok(vec![]));
    // Closed handles are refused from then on; the registration reports one hang-up.
    assert_eq!(p.b.handle_close(c), 0);
    assert_eq!(p.b.handle_close(c), ERR_BAD_HANDLE);
    assert_eq!(send_all(&mut p.b, c, b"x"), ERR_BAD_HANDLE);
    let ev = poll(&mut p.b);
    assert_eq!(ev, vec![Event { user_data: 77, events: EV_HANGUP, reserved: 0 }]);
    assert!(poll(&mut p.b).is_empty());
    assert_eq!(p.a.handle_close(l), 0);
    // Everything closed gets freed once the closing handshakes end.
    for _ in 0..200 {
        p.step(100_000);
    }
}

#[test]
fn handles_of_the_wrong_type_and_forged_ones_are_refused() {
    let mut p = Pair::new();
    let (l, s, _c) = connected(&mut p);
    let u = p.a.udp_bind(53);
    assert!(u > 0);
    let u = u as u64;
    let mut b = [0u8; 4];
    assert_eq!(p.a.sock_send(l, b.as_ptr(), 4), ERR_BAD_HANDLE);
    assert_eq!(p.a.sock_recv(u, b.as_mut_ptr(), 4), ERR_BAD_HANDLE);
    assert_eq!(p.a.tcp_accept(s), ERR_BAD_HANDLE);
    assert_eq!(p.a.udp_send_to(s, b.as_ptr(), 4, (B_ADDR as u64) << 16 | 9), ERR_BAD_HANDLE);
    // Same slot, other tag; other generation; high bits; an unknown slot.
    let retagged = (s & !(0xff << 16)) | (handles::TAG_UDP as u64) << 16;
    assert_eq!(p.a.udp_recv_from(retagged, b.as_mut_ptr(), 4, &mut 0u64), ERR_BAD_HANDLE);
    assert_eq!(p.a.sock_send(s + (1 << 24), b.as_ptr(), 4), ERR_BAD_HANDLE);
    assert_eq!(p.a.sock_send(s | 1 << 60, b.as_ptr(), 4), ERR_BAD_HANDLE);
    assert_eq!(p.a.sock_send((s & !0xffff) | 0xfff0, b.as_ptr(), 4), ERR_BAD_HANDLE);
    // A null buffer with a length.
    assert_eq!(p.a.sock_send(s, std::ptr::null(), 4), ERR_BAD_POINTER);
    assert_eq!(p.a.sock_recv(s, std::ptr::null_mut(), 4), ERR_BAD_POINTER);
    assert_eq!(p.a.sock_send(s, std::ptr::null(), 0), 0);
    // Kernel handles pass through to the kernel.
    assert_eq!(p.a.handle_close(DEV + (1 << 24)), 0);
    assert_eq!(p.a.k.closed, vec![DEV + (1 << 24)]);
    // Registration: bad interest, unregistering twice.
    assert_eq!(p.a.io_register(u, 0, 1), ERR_INVALID);
    assert_eq!(p.a.io_register(u, EV_HANGUP, 1), ERR_INVALID);
    assert_eq!(p.a.io_register(u, EV_READABLE, 1), 0);
    assert_eq!(p.a.io_unregister(u), 0);
    assert_eq!(p.a.io_unregister(u), ERR_INVALID);
}

#[test]
fn policy_refuses_before_anything_is_created() {
    let mut p = Pair::with_policies(
        info("10.0.0.1", 1, "80", "10.0.0.0/24:*"),
        info("10.0.0.2", 2, "", "10.0.0.1/32:80-81,10.9.0.0/16:*"),
    );
    assert_eq!(p.a.tcp_listen(8080, 1), ERR_NOT_ALLOWED);
    assert_eq!(p.a.udp_bind(8080), ERR_NOT_ALLOWED);
    assert_eq!(p.a.tcp_listen(0, 1), ERR_INVALID);
    assert_eq!(p.a.tcp_listen(70000, 1), ERR_INVALID);
    let l = p.a.tcp_listen(80, 0);
    assert!(l > 0);
    assert_eq!(p.a.tcp_listen(80, 1), ERR_EXISTS);
    assert_eq!(p.b.tcp_connect(A_ADDR, 443), ERR_NOT_ALLOWED);
    assert_eq!(p.b.tcp_connect(0x0a00_0003, 80), ERR_NOT_ALLOWED);
    assert_eq!(p.b.tcp_connect(A_ADDR, 0), ERR_INVALID);
    assert!(p.b.tcp_connect(0x0a09_1234, 5000) > 0);
    assert!(p.b.tcp_connect(A_ADDR, 81) > 0);
    let u = p.b.udp_bind(0) as u64;
    let d = [1u8; 8];
    assert_eq!(p.b.udp_send_to(u, d.as_ptr(), 8, (A_ADDR as u64) << 16 | 53), ERR_NOT_ALLOWED);
    assert_eq!(p.b.udp_send_to(u, d.as_ptr(), 8, (A_ADDR as u64) << 16 | 80), 8);
    assert_eq!(p.b.udp_send_to(u, d.as_ptr(), 8, 1 << 50), ERR_INVALID);
    let big = vec![0u8; 1473];
    assert_eq!(p.b.udp_send_to(u, big.as_ptr(), big.len() as u64, (A_ADDR as u64) << 16 | 80), ERR_INVALID);
}

#[test]
fn refused_connection_reads_as_connection_error_and_hangs_up() {
    let mut p = Pair::new();
    // A is up (it answers) but nobody listens on 81.
    assert!(p.a.udp_bind(53) > 0);
    let c = p.b.tcp_connect(A_ADDR, 81) as u64;
    assert_eq!(p.b.io_register(c, EV_WRITABLE, 5), 0);
    let mut b = [0u8; 4];
    assert_eq!(p.b.sock_recv(c, b.as_mut_ptr(), 4), ERR_WOULD_BLOCK);
    assert_eq!(p.b.sock_send(c, b.as_ptr(), 4), ERR_WOULD_BLOCK);
    // Interest was writable only: the hang-up comes anyway (as the kernel's do), readable does not.
    p.until(1000, |p| poll(&mut p.b).iter().any(|e| e.user_data == 5 && e.events == EV_HANGUP));
    assert_eq!(p.b.io_unregister(c), 0);
    assert_eq!(p.b.io_register(c, EV_READABLE, 6), 0);
    assert_eq!(poll(&mut p.b), vec![Event { user_data: 6, events: EV_READABLE | EV_HANGUP, reserved: 0 }]);
    assert_eq!(p.b.sock_recv(c, b.as_mut_ptr(), 4), ERR_CONNECTION);
    assert_eq!(p.b.sock_send(c, b.as_ptr(), 4), ERR_CONNECTION);
}

#[test]
fn connect_to_a_silent_host_times_out() {
    let mut p = Pair::new();
    // Nobody answers at 10.0.0.9 (not even ARP): the connect fails after its deadline.
    let c = p.b.tcp_connect(0x0a00_0009, 80) as u64;
    let mut b = [0u8; 4];
    for _ in 0..40 {
        p.step(1_000_000);
    }
    assert_eq!(p.b.sock_recv(c, b.as_mut_ptr(), 4), ERR_CONNECTION);
}

#[test]
fn backlog_holds_several_connections_until_accepted() {
    let mut p = Pair::new();
    let l = p.a.tcp_listen(80, 3) as u64;
    assert_eq!(p.a.io_register(l, EV_READABLE, 1000), 0);
    let cs: Vec<u64> = (0..3).map(|_| p.b.tcp_connect(A_ADDR, 80) as u64).collect();
    for &c in &cs {
        assert_eq!(p.b.io_register(c, EV_WRITABLE, c), 0);
    }
    p.until(1000, |p| poll(&mut p.b).len() == 3);
    let ev = poll(&mut p.a);
    assert_eq!(ev, vec![Event { user_data: 1000, events: EV_READABLE, reserved: 0 }]);
    let mut accepted = Vec::new();
    for _ in 0..3 {
        let s = p.a.tcp_accept(l);
        assert!(s > 0, "accept: {s}");
        accepted.push(s as u64);
    }
    assert_eq!(p.a.tcp_accept(l), ERR_WOULD_BLOCK);
    assert!(poll(&mut p.a).is_empty());
    // Each accepted socket talks to its own client.
    for (i, (&s, &c)) in accepted.iter().zip(cs.iter()).enumerate() {
        let _ = (s, c, i);
    }
    for &c in &cs {
        assert_eq!(p.b.sock_send(c, c.to_le_bytes().as_ptr(), 8), 8);
    }
    let mut seen = std::collections::HashSet::new();
    p.until(1000, |p| {
        for &s in &accepted {
            if let Ok(d) = recv(&mut p.a, s, 8) {
                if d.len() == 8 {
                    seen.insert(u64::from_le_bytes(d.try_into().unwrap()));
                }
            }
        }
        seen.len() == 3
    });
    assert_eq!(seen, cs.iter().copied().collect());
}

#[test]
fn udp_datagrams_both_ways() {
    let mut p = Pair::new();
    let a = p.a.udp_bind(53) as u64;
    assert_eq!(p.a.udp_bind(53), ERR_EXISTS);
    let b = p.b.udp_bind(0) as u64;
    assert!(a > 0 && b > 0);
    assert_eq!(p.a.io_register(a, EV_READABLE, 9), 0);
    let q = b"query";
    assert_eq!(p.b.udp_send_to(b, q.as_ptr(), 5, (A_ADDR as u64) << 16 | 53), 5);
    p.until(1000, |p| poll(&mut p.a).iter().any(|e| e.user_data == 9));
    let mut buf = [0u8; 3];
    let mut from = 0u64;
    assert_eq!(p.a.udp_recv_from(a, buf.as_mut_ptr(), 3, &mut from), 3); // cut to len
    assert_eq!(&buf, b"que");
    assert_eq!(from >> 16, B_ADDR as u64);
    let port = from & 0xffff;
    assert!(port >= 49152);
    assert_eq!(p.a.udp_recv_from(a, buf.as_mut_ptr(), 3, &mut from), ERR_WOULD_BLOCK);
    assert_eq!(p.a.udp_send_to(a, b"answer".as_ptr(), 6, from), 6);
    let mut got = [0u8; 64];
    let mut n = 0;
    p.until(1000, |p| {
        n = p.b.udp_recv_from(b, got.as_mut_ptr(), 64, &mut from);
        n > 0
    });
    assert_eq!(&got[..n as usize], b"answer");
    assert_eq!(from, (A_ADDR as u64) << 16 | 53);
}

#[test]
fn no_device_is_reported_and_init_is_retried() {
    let mut p = Pair::new();
    p.a.k.open_result = ERR_UNSUPPORTED;
    assert_eq!(p.a.tcp_listen(80, 1), ERR_UNSUPPORTED);
    p.a.k.open_result = ERR_PERMISSION;
    assert_eq!(p.a.udp_bind(0), ERR_PERMISSION);
    assert!(!p.a.initialised());
    // Before init, io_poll is the kernel's and library handles are not ours to know.
    p.a.k.kernel_events.push_back(Event { user_data: 42, events: EV_READABLE | 8, reserved: 0 });
    let mut ev = [Event::default(); 4];
    assert_eq!(p.a.io_poll(ev.as_mut_ptr(), 4, 0), 1);
    assert_eq!(ev[0].user_data, 42);
    assert_eq!(p.a.io_poll(ev.as_mut_ptr(), 0, 0), ERR_INVALID);
    assert_eq!(p.a.io_poll(ev.as_mut_ptr(), 4, -2), ERR_INVALID);
    assert_eq!(p.a.handle_close((1 << 24) | (17 << 16)), ERR_BAD_HANDLE);
    p.a.k.open_result = DEV as i64;
    assert!(p.a.tcp_listen(80, 1) > 0);
    assert!(p.a.initialised());
}

#[test]
fn kernel_events_are_merged_and_device_events_hidden() {
    let mut p = Pair::new();
    let (_l, s, c) = connected(&mut p);
    assert_eq!(p.b.sock_send(c, b"x".as_ptr(), 1), 1);
    assert_eq!(p.a.io_register(s, EV_READABLE, 1), 0);
    p.until(1000, |p| p.wire.borrow().q[0].is_empty() && poll(&mut p.a).iter().any(|e| e.user_data == 1));
    // A timer of the kernel's fires while the socket is readable: both come back.
    p.a.k.kernel_events.push_back(Event { user_data: 2, events: EV_READABLE | 8, reserved: 0 });
    let ev = poll(&mut p.a);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert!(ev.iter().all(|e| e.user_data != zigu_net::stack::DEVICE_USER_DATA));
    // Only a kernel event, and a waiting wait: it comes back without the socket.
    assert_eq!(recv(&mut p.a, s, 10).unwrap(), b"x");
    p.a.k.kernel_events.push_back(Event { user_data: 3, events: EV_READABLE, reserved: 0 });
    let mut out = [Event::default(); 8];
    assert_eq!(p.a.poll_slice(&mut out, 5_000_000), 1);
    assert_eq!(out[0].user_data, 3);
    // Nothing at all: a finite wait returns 0 after (virtual) time has passed, and does not spin.
    let polls = p.a.k.polls;
    let t0 = p.clock.get();
    assert_eq!(p.a.poll_slice(&mut out, 50_000_000), 0);
    assert!(p.clock.get() - t0 >= 50_000_000);
    assert!(p.a.k.polls - polls < 100, "{} kernel polls for one wait", p.a.k.polls - polls);
}

fn fnv(h: &mut u64, data: &[u8]) {
    for &b in data {
        *h ^= b as u64;
        *h = h.wrapping_mul(0x100_0000_01b3);
    }
}

#[test]
fn eight_mib_over_a_lossy_reordering_wire_arrive_intact() {
    bulk(8 << 20, false);
}

/// smoltcp 0.14.0: after a lossy, reordering transfer the sender's FIN was lost and never sent
/// again (FIN-WAIT-1, empty send queue, nothing on the wire for 60 s of virtual time). Kept as a
/// reproduction; the library bounds it for closed handles (CLOSE_LINGER aborts), not for
/// sock_shutdown. Run with `cargo test -- --ignored`.
#[test]
#[ignore]
fn fin_sent_on_a_lossy_wire_arrives() {
    bulk(8 << 20, true);
}

fn bulk(total: usize, fin_while_lossy: bool) {
    const SEED: u64 = 0x1234_5678_9abc_def1;
    let total_len = total;
    let mut p = Pair::new();
    let (_l, s, c) = connected(&mut p);
    {
        let mut w = p.wire.borrow_mut();
        w.drop_pm = 50;
        w.reorder_pm = 50;
        w.cap = 48; // net_send takes fewer frames than offered once the wire is full
    }
    let mut src = Rng(SEED);
    let data: Vec<u8> = (0..total_len).map(|_| src.next() as u8).collect();
    let (mut sent, mut received) = (0usize, Vec::with_capacity(total_len));
    let mut steps = 0;
    let mut buf = vec![0u8; 65536];
    while received.len() < total_len {
        steps += 1;
        assert!(steps < 400_000, "stuck at {} of {} bytes", received.len(), total_len);
        if sent < total_len {
            let r = p.b.sock_send(c, data[sent..].as_ptr(), (total_len - sent) as u64);
            if r > 0 {
                sent += r as usize;
            } else {
                assert_eq!(r, ERR_WOULD_BLOCK);
            }
            if sent == total_len && fin_while_lossy {
                assert_eq!(p.b.sock_shutdown(c), 0);
            }
        }
        loop {
            let r = p.a.sock_recv(s, buf.as_mut_ptr(), buf.len() as u64);
            if r > 0 {
                received.extend_from_slice(&buf[..r as usize]);
            } else {
                assert!(r == ERR_WOULD_BLOCK || (r == 0 && received.len() == total_len), "recv: {r}");
                break;
            }
        }
        p.step(200);
    }
    let mut last = 1;
    let (h1, h2) = {
        let (mut h1, mut h2) = (0xcbf2_9ce4_8422_2325u64, 0xcbf2_9ce4_8422_2325u64);
        fnv(&mut h1, &data);
        fnv(&mut h2, &received);
        (h1, h2)
    };
    assert_eq!(h1, h2, "checksums differ");
    assert!(received == data);
    if !fin_while_lossy {
        // The end of the stream, over a clean wire.
        let mut w = p.wire.borrow_mut();
        w.drop_pm = 0;
        w.reorder_pm = 0;
        drop(w);
        assert_eq!(p.b.sock_shutdown(c), 0);
    }
    // The FIN may be lost too: its retransmission can take seconds after backed-off timeouts.
    for _ in 0..6_000 {
        last = p.a.sock_recv(s, buf.as_mut_ptr(), 1);
        if last != ERR_WOULD_BLOCK { break; }
        p.step(10_000);
    }
    assert_eq!(last, 0, "the end of the stream: A {:?} B {:?}", p.a.debug_tcp(s), p.b.debug_tcp(c));
    let w = p.wire.borrow();
    eprintln!(
        "8 MiB: {} steps, {} frames on the wire, {} dropped, {} reordered; B: {:?}",
        steps, w.sent, w.dropped, w.reordered, p.b.stats
    );
    assert!(w.dropped > 100 && w.reordered > 100, "the wire was not lossy enough to mean anything");
    // Batching: many frames per net_send call.
    assert!(p.b.stats.frames_out > 4 * p.b.stats.net_send_calls, "{:?}", p.b.stats);
}

#[test]
fn dhcp_configuration_defers_connects_until_an_address_comes() {
    let mut p = Pair::with_policies(
        "mac=52:54:00:12:34:01\nmtu=1500\ntsc_hz=1000000000\naddress=dhcp\nlisten=80\nconnect=10.0.0.0/24:*\n".into(),
        info("10.0.0.2", 2, "", ""),
    );
    let c = p.a.tcp_connect(B_ADDR, 80);
    assert!(c > 0, "connect before an address: {c}");
    assert!(!p.a.has_address());
    let mut b = [0u8; 4];
    assert_eq!(p.a.sock_send(c as u64, b.as_ptr(), 4), ERR_WOULD_BLOCK);
    assert_eq!(p.a.sock_recv(c as u64, b.as_mut_ptr(), 4), ERR_WOULD_BLOCK);
    assert!(p.a.tcp_listen(80, 1) > 0);
    // The DHCP client broadcasts a DISCOVER (UDP 68 -> 67).
    p.step(100);
    let w = p.wire.borrow();
    let discover = w.q[1].iter().find(|f| f.len() > 42 && f[0..6] == [0xff; 6] && f[12..14] == [8, 0] && f[23] == 17 && f[34..38] == [0, 68, 0, 67]);
    assert!(discover.is_some(), "no DHCPDISCOVER among {} frames", w.q[1].len());
}
