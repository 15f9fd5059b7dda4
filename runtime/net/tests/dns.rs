//! dns_query / dns_result against a resolver on the other side of the wire (a UDP socket on
//! port 53 of side A, answering from a table): answers, NXDOMAIN, a silent resolver, malformed
//! answers, hostile arguments and stale handles.

mod common;
use common::*;
use zigu_net::abi::*;
use zigu_net::handles;
use zigu_net::stack::{parse_ipv4, valid_host_name, Net};

/// Side A (10.0.0.1) is the resolver; side B asks it.
fn pair() -> Pair {
    let b = info("10.0.0.2", 2, "", "10.0.0.0/24:*") + "dns=10.0.0.1\n";
    Pair::with_policies(info("10.0.0.1", 1, "53", "10.0.0.0/24:*"), b)
}

fn query(n: &mut Net<Mock>, name: &str) -> i64 {
    n.dns_query(name.as_ptr(), name.len() as u64)
}

/// The question's name (dotted) and where the question ends.
fn question(msg: &[u8]) -> Option<(String, usize)> {
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let l = *msg.get(i)? as usize;
        i += 1;
        if l == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(msg.get(i..i + l)?).into_owned());
        i += l;
    }
    Some((labels.join("."), i + 4))
}

/// An answer to `msg` with `rcode` and A records `addrs`.
fn answer(msg: &[u8], end: usize, rcode: u8, addrs: &[u32]) -> Vec<u8> {
    let mut r = msg[..end].to_vec();
    r[2] = 0x81; // response, recursion desired
    r[3] = 0x80 | rcode; // recursion available
    r[6..8].copy_from_slice(&(addrs.len() as u16).to_be_bytes());
    r[8..12].fill(0);
    for a in addrs {
        r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        r.extend_from_slice(&a.to_be_bytes());
    }
    r
}

/// Side A answers every query waiting on its port-53 socket; returns how many it saw.
fn serve(p: &mut Pair, sock: u64, seen: &mut Vec<String>) {
    let mut buf = [0u8; 1500];
    let mut from = 0u64;
    loop {
        let n = p.a.udp_recv_from(sock, buf.as_mut_ptr(), buf.len() as u64, &mut from);
        if n < 0 {
            assert_eq!(n, ERR_WOULD_BLOCK);
            return;
        }
        let msg = &buf[..n as usize];
        let Some((name, end)) = question(msg) else { continue };
        seen.push(name.clone());
        let reply: Vec<u8> = match name.as_str() {
            "host.test" => answer(msg, end, 0, &[0x0a00_0007, 0x0a00_0008]),
            "many.test" => answer(msg, end, 0, &[1, 2, 3, 4, 5, 6]),
            "nx.test" => answer(msg, end, 3, &[]),
            "empty.test" => answer(msg, end, 0, &[]),
            "silent.test" => continue,
            // A reply with the right id cut in the middle of its answer, then one whose counts lie.
            "bad.test" => {
                let full = answer(msg, end, 0, &[0x0a00_0009]);
                let cut = full[..full.len() - 3].to_vec();
                let mut lying = full.clone();
                lying[6..8].copy_from_slice(&0xffffu16.to_be_bytes());
                for r in [cut, lying] {
                    assert!(p.a.udp_send_to(sock, r.as_ptr(), r.len() as u64, from) > 0);
                }
                continue;
            }
            _ => answer(msg, end, 3, &[]),
        };
        assert!(p.a.udp_send_to(sock, reply.as_ptr(), reply.len() as u64, from) > 0);
    }
}

fn result(n: &mut Net<Mock>, q: u64, max: usize) -> Result<Vec<u32>, i64> {
    let mut out = [0u32; 8];
    let r = n.dns_result(q, out.as_mut_ptr(), max as u64);
    if r < 0 {
        return Err(r);
    }
    Ok(out[..r as usize].to_vec())
}

/// Steps (serving queries) until the query is no longer pending.
fn resolve(p: &mut Pair, server: u64, q: u64, max: usize, seen: &mut Vec<String>) -> Result<Vec<u32>, i64> {
    let mut out = Err(ERR_WOULD_BLOCK);
    p.until(200_000, |p| {
        serve(p, server, seen);
        out = result(&mut p.b, q, max);
        out != Err(ERR_WOULD_BLOCK)
    });
    out
}

fn setup() -> (Pair, u64) {
    let mut p = pair();
    let server = p.a.udp_bind(53);
    assert!(server > 0, "bind 53: {server}");
    (p, server as u64)
}

#[test]
fn names_resolve_through_the_resolver() {
    let (mut p, server) = setup();
    let mut seen = Vec::new();
    let q = query(&mut p.b, "host.test");
    assert!(q > 0, "dns_query: {q}");
    let q = q as u64;
    assert_eq!(handles::tag_of(q), handles::TAG_DNS);
    assert!(handles::is_library(q));
    assert_eq!(p.b.io_register(q, EV_READABLE, 77), 0);
    assert_eq!(result(&mut p.b, q, 4), Err(ERR_WOULD_BLOCK));
    assert!(!poll(&mut p.b).iter().any(|e| e.user_data == 77), "readable before the answer");
    assert_eq!(resolve(&mut p, server, q, 4, &mut seen), Ok(vec![0x0a00_0007, 0x0a00_0008]));
    assert!(poll(&mut p.b).iter().any(|e| e.user_data == 77 && e.events & EV_READABLE != 0));
    // The answer stays until the handle is closed; max cuts it.
    assert_eq!(result(&mut p.b, q, 1), Ok(vec![0x0a00_0007]));
    assert_eq!(seen, vec!["host.test"]);
    assert_eq!(p.b.handle_close(q), 0);
    // A registered handle closed: one hang-up, then the value is stale everywhere.
    assert!(poll(&mut p.b).iter().any(|e| e.user_data == 77 && e.events == EV_HANGUP));
    assert_eq!(result(&mut p.b, q, 4), Err(ERR_BAD_HANDLE));
    assert_eq!(p.b.handle_close(q), ERR_BAD_HANDLE);
    assert_eq!(p.b.io_register(q, EV_READABLE, 1), ERR_BAD_HANDLE);

    let q = query(&mut p.b, "many.test") as u64;
    assert_eq!(resolve(&mut p, server, q, 4, &mut seen), Ok(vec![1, 2, 3, 4]));
    // The name goes out as given (this resolver knows it only in lower case).
    let q = query(&mut p.b, "Host.TEST") as u64;
    assert_eq!(resolve(&mut p, server, q, 4, &mut seen), Err(ERR_NOT_FOUND));
    assert_eq!(seen.last().unwrap(), "Host.TEST");
}

#[test]
fn no_such_name_and_no_address_are_not_found() {
    let (mut p, server) = setup();
    let mut seen = Vec::new();
    for name in ["nx.test", "empty.test"] {
        let q = query(&mut p.b, name) as u64;
        assert_eq!(resolve(&mut p, server, q, 4, &mut seen), Err(ERR_NOT_FOUND), "{name}");
        // Failed stays failed, and reads as readable.
        assert_eq!(result(&mut p.b, q, 4), Err(ERR_NOT_FOUND));
        assert_eq!(p.b.io_register(q, EV_READABLE, 5), 0);
        assert!(poll(&mut p.b).iter().any(|e| e.user_data == 5));
        assert_eq!(p.b.handle_close(q), 0);
    }
}

#[test]
fn a_silent_resolver_and_malformed_answers_fail_in_time() {
    let (mut p, server) = setup();
    let mut seen = Vec::new();
    let start = p.clock.get();
    let silent = query(&mut p.b, "silent.test") as u64;
    let bad = query(&mut p.b, "bad.test") as u64;
    assert_eq!(resolve(&mut p, server, silent, 4, &mut seen), Err(ERR_NOT_FOUND));
    let bad_result = resolve(&mut p, server, bad, 4, &mut seen);
    // A cut reply is ignored; the one whose counts lie may be taken for what it holds.
    assert!(bad_result == Err(ERR_NOT_FOUND) || bad_result == Ok(vec![0x0a00_0009]), "{bad_result:?}");
    let waited = (p.clock.get() - start) / 1_000_000;
    assert!((9_000..=13_000).contains(&waited), "gave up after {waited} ms");
    // The resolver was asked again while silent (retransmits), both names at least once.
    assert!(seen.iter().filter(|n| *n == "silent.test").count() >= 2, "{seen:?}");
}

#[test]
fn addresses_resolve_to_themselves_without_a_resolver() {
    let mut p = Pair::new(); // no dns= line
    let q = query(&mut p.b, "10.0.0.1");
    assert!(q > 0);
    assert_eq!(result(&mut p.b, q as u64, 4), Ok(vec![A_ADDR]));
    // A name with no resolver to ask fails at once.
    let q = query(&mut p.b, "host.test") as u64;
    assert_eq!(result(&mut p.b, q, 4), Err(ERR_NOT_FOUND));
    assert_eq!(p.wire.borrow().q[0].iter().filter(|f| f.len() > 36 && f[23] == 17).count(), 0, "a UDP frame went out");
}

#[test]
fn hostile_arguments_are_refused() {
    let (mut p, server) = setup();
    let long = "a".repeat(64);
    let too_long = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(62)].join(".");
    assert_eq!(too_long.len(), 254);
    for name in ["", "a..b", ".a", "a.", "-a.b", "a-.b", "a b", "a/b", "é.test", &long, &too_long, "a\0b"] {
        assert_eq!(query(&mut p.b, name), ERR_INVALID, "{name:?}");
    }
    assert_eq!(p.b.dns_query(core::ptr::null(), 5), ERR_BAD_POINTER);
    assert_eq!(p.b.dns_query(b"x".as_ptr(), 0), ERR_INVALID);
    assert_eq!(p.b.dns_query(b"x".as_ptr(), u64::MAX), ERR_INVALID);
    let ok = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61)].join(".");
    assert!(query(&mut p.b, &ok) > 0, "a 253-byte name");
    let q = query(&mut p.b, "host.test") as u64;
    let mut out = [0u32; 8];
    assert_eq!(p.b.dns_result(q, out.as_mut_ptr(), 0), ERR_INVALID);
    assert_eq!(p.b.dns_result(q, out.as_mut_ptr(), MAX_DNS_ADDRS as u64 + 1), ERR_INVALID);
    assert_eq!(p.b.dns_result(q, core::ptr::null_mut(), 1), ERR_BAD_POINTER);
    // Forged, stale and wrong-type handles.
    assert_eq!(p.b.dns_result(q ^ (1 << 24), out.as_mut_ptr(), 1), ERR_BAD_HANDLE);
    assert_eq!(p.b.dns_result(q + 1, out.as_mut_ptr(), 1), ERR_BAD_HANDLE);
    let udp = p.b.udp_bind(0) as u64;
    assert_eq!(p.b.dns_result(udp, out.as_mut_ptr(), 1), ERR_BAD_HANDLE);
    assert_eq!(p.b.sock_recv(q, out.as_mut_ptr().cast(), 4), ERR_BAD_HANDLE);
    assert_eq!(p.b.dns_result(DEV, out.as_mut_ptr(), 1), ERR_BAD_HANDLE);
    // Closed while the query is out: the late answer lands nowhere.
    let mut seen = Vec::new();
    p.until(10_000, |p| {
        serve(p, server, &mut seen);
        seen.iter().any(|n| n == "host.test")
    });
    assert_eq!(p.b.handle_close(q), 0);
    for _ in 0..50 {
        serve(&mut p, server, &mut seen);
        p.step(1000);
    }
    // Many queries at once: the handle table bounds them.
    let mut live = 0;
    loop {
        let r = query(&mut p.b, "silent.test");
        if r < 0 {
            assert_eq!(r, ERR_NO_SPACE);
            break;
        }
        live += 1;
        assert!(live <= 256);
    }
    assert!(live > 200, "{live}");
}

#[test]
fn name_checks() {
    assert!(valid_host_name(b"example.com"));
    assert!(valid_host_name(b"_srv.x-y.z9"));
    assert!(!valid_host_name(b"x..y"));
    assert_eq!(parse_ipv4(b"10.0.2.2"), Some(0x0a00_0202));
    assert_eq!(parse_ipv4(b"255.255.255.255"), Some(u32::MAX));
    for bad in [&b"10.0.2"[..], b"10.0.2.2.1", b"256.0.0.1", b"01.2.3.4", b"1..2.3", b"1.2.3.4a", b"1.2.3."] {
        assert_eq!(parse_ipv4(bad), None, "{:?}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn two_thousand_mutated_answers_never_break_the_resolver() {
    let (mut p, server) = setup();
    let mut r = Rng(0x0123_4567_89ab_cdef);
    let mut buf = [0u8; 1500];
    let (mut answered, mut failed) = (0, 0);
    let start = std::time::Instant::now();
    for i in 0..2000 {
        let q = query(&mut p.b, "host.test") as u64;
        let mut from = 0u64;
        let mut n = 0;
        p.until(10_000, |p| {
            n = p.a.udp_recv_from(server, buf.as_mut_ptr(), buf.len() as u64, &mut from);
            n > 0
        });
        let msg = buf[..n as usize].to_vec();
        let (_, end) = question(&msg).unwrap();
        let mut a = answer(&msg, end, 0, &[0x0a00_0007, 0x0a00_0008]);
        // Keep the id (bytes 0..2) so the resolver reads the rest.
        match r.below(4) {
            0 => a.truncate(2 + r.below(a.len() as u64 - 2) as usize),
            1 => {
                for _ in 0..1 + r.below(8) {
                    let at = 2 + r.below(a.len() as u64 - 2) as usize;
                    a[at] = r.next() as u8;
                }
            }
            2 => {
                // Compression pointers that loop or point past the end, counts that lie.
                let at = end + 12 * r.below(2) as usize;
                a[at] = 0xc0 | r.below(64) as u8;
                a[at + 1] = r.next() as u8;
                a[6 + 2 * r.below(3) as usize] = r.next() as u8;
            }
            _ => a.extend((0..r.below(400)).map(|_| r.next() as u8)),
        }
        assert!(p.a.udp_send_to(server, a.as_ptr(), a.len() as u64, from) > 0);
        // Answered, failed, or (a reply it threw away) still pending: never anything else.
        let mut res = Err(ERR_WOULD_BLOCK);
        for _ in 0..20 {
            p.step(100);
            res = result(&mut p.b, q, 4);
            if res != Err(ERR_WOULD_BLOCK) {
                break;
            }
        }
        match res {
            Ok(v) => {
                assert!(!v.is_empty() && v.len() <= 4);
                answered += 1;
            }
            Err(ERR_NOT_FOUND) => failed += 1,
            Err(e) => assert_eq!(e, ERR_WOULD_BLOCK, "round {i}"),
        }
        assert_eq!(p.b.handle_close(q), 0);
        // The retransmits of abandoned queries are not answered.
        while p.a.udp_recv_from(server, buf.as_mut_ptr(), buf.len() as u64, &mut from) > 0 {}
    }
    eprintln!("2000 mutated answers: {answered} answered, {failed} failed, the rest ignored, in {:?}", start.elapsed());
    assert!(answered > 100, "{answered}");
    // And the resolver still answers a clean query.
    let mut seen = Vec::new();
    let q = query(&mut p.b, "host.test") as u64;
    assert_eq!(resolve(&mut p, server, q, 4, &mut seen), Ok(vec![0x0a00_0007, 0x0a00_0008]));
}
