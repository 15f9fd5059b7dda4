//! 20,000 random and malformed frames into a stack that listens and has an open connection: no
//! panic, no hang, and it still works afterwards.

mod common;
use common::*;
use zigu_net::abi::*;

fn csum(data: &[u8], mut sum: u32) -> u16 {
    for c in data.chunks(2) {
        sum += (c[0] as u32) << 8 | *c.get(1).unwrap_or(&0) as u32;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An Ethernet + IPv4 frame to A (10.0.0.1, 52:54:00:12:34:01) from B with `proto`'s payload,
/// checksums right (the mutations come later).
fn ip_frame(proto: u8, l4: &mut Vec<u8>, fix_l4: Option<usize>) -> Vec<u8> {
    let mut f = vec![0x52, 0x54, 0x00, 0x12, 0x34, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x02, 0x08, 0x00];
    let src = B_ADDR.to_be_bytes();
    let dst = A_ADDR.to_be_bytes();
    if let Some(at) = fix_l4 {
        l4[at] = 0;
        l4[at + 1] = 0;
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&src);
        pseudo.extend_from_slice(&dst);
        pseudo.extend_from_slice(&[0, proto]);
        pseudo.extend_from_slice(&(l4.len() as u16).to_be_bytes());
        let mut sum = 0u32;
        for c in pseudo.chunks(2) {
            sum += (c[0] as u32) << 8 | c[1] as u32;
        }
        let c = csum(l4, sum);
        l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
    }
    let total = (20 + l4.len()) as u16;
    let mut ip = vec![0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0];
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let c = csum(&ip, 0);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(l4);
    f
}

fn tcp_segment(r: &mut Rng, dport: u16) -> Vec<u8> {
    let opt_words = r.below(11) as usize; // up to 40 bytes of options
    let mut t = vec![0u8; 20 + opt_words * 4];
    t[0..2].copy_from_slice(&(40000 + r.below(100) as u16).to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[4..8].copy_from_slice(&(r.next() as u32).to_be_bytes());
    t[8..12].copy_from_slice(&(r.next() as u32).to_be_bytes());
    t[12] = ((5 + opt_words) as u8) << 4;
    t[13] = r.next() as u8 & 0x3f;
    t[14..16].copy_from_slice(&(r.next() as u16).to_be_bytes());
    // Options: random kinds with random (often wrong) lengths, e.g. MSS 0, window scale 200,
    // SACK blocks with garbage, lengths running past the header.
    let mut i = 20;
    while i < t.len() {
        let kind = [0u8, 1, 2, 3, 4, 5, 8, 255][r.below(8) as usize];
        t[i] = kind;
        if i + 1 < t.len() {
            t[i + 1] = r.below(48) as u8;
        }
        let step = 1 + r.below(6) as usize;
        for j in i + 2..(i + step).min(t.len()) {
            t[j] = r.next() as u8;
        }
        i += step;
    }
    let payload = r.below(64) as usize;
    for _ in 0..payload {
        t.push(r.next() as u8);
    }
    t
}

fn mutate(r: &mut Rng, mut f: Vec<u8>) -> Vec<u8> {
    match r.below(8) {
        0 => {
            let n = r.below(f.len() as u64 + 1) as usize; // truncated anywhere
            f.truncate(n);
        }
        1 => {
            let i = r.below(f.len() as u64) as usize; // one byte flipped (bad checksum, or worse)
            f[i] ^= 1 << r.below(8);
        }
        2 if f.len() > 17 => {
            let v = r.next() as u16; // IPv4 total length lies
            f[16..18].copy_from_slice(&v.to_be_bytes());
        }
        3 if f.len() > 14 => f[14] = r.next() as u8, // version / IHL
        4 => {
            let n = r.below(200);
            for _ in 0..n {
                f.push(r.next() as u8); // trailing garbage
            }
        }
        _ => {} // intact
    }
    f.truncate(MAX_FRAME_BYTES);
    f
}

fn frame(r: &mut Rng) -> Vec<u8> {
    match r.below(10) {
        0 => {
            let n = r.below(MAX_FRAME_BYTES as u64 + 1);
            (0..n).map(|_| r.next() as u8).collect()
        }
        1 => {
            // ARP with random fields
            let mut f = vec![0xff; 6];
            f.extend_from_slice(&[0x52, 0x54, 0, 0x12, 0x34, 0x02, 0x08, 0x06]);
            f.extend((0..28).map(|_| r.next() as u8));
            f[14..20].copy_from_slice(&[0, 1, 8, 0, 6, 4]);
            mutate(r, f)
        }
        2 => {
            let mut icmp = vec![8, 0, 0, 0, 0, 1, 0, 1];
            let n = r.below(100);
            icmp.extend((0..n).map(|_| r.next() as u8));
            let f = ip_frame(1, &mut icmp, Some(2));
            mutate(r, f)
        }
        3 => {
            let len = r.below(100) as usize;
            let mut u = vec![0u8; 8 + len];
            u[0..2].copy_from_slice(&5353u16.to_be_bytes());
            u[2..4].copy_from_slice(&53u16.to_be_bytes());
            let l = if r.below(3) == 0 { r.next() as u16 } else { (8 + len) as u16 };
            u[4..6].copy_from_slice(&l.to_be_bytes());
            let f = ip_frame(17, &mut u, Some(6));
            mutate(r, f)
        }
        4 => {
            let n = r.below(60);
            let mut t = (0..n).map(|_| r.next() as u8).collect();
            let proto = r.next() as u8;
            let f = ip_frame(proto, &mut t, None);
            mutate(r, f)
        }
        _ => {
            let port = [80u16, 81, 53, 12345][r.below(4) as usize];
            let mut t = tcp_segment(r, port);
            let fix = if r.below(4) == 0 { None } else { Some(16) };
            let f = ip_frame(6, &mut t, fix);
            mutate(r, f)
        }
    }
}

#[test]
fn twenty_thousand_hostile_frames() {
    let mut p = Pair::new();
    let l = p.a.tcp_listen(80, 8) as u64;
    let u = p.a.udp_bind(53) as u64;
    assert!(l > 0 && u > 0);
    let c = p.b.tcp_connect(A_ADDR, 80) as u64;
    let mut s = 0;
    p.until(1000, |p| {
        let r = p.a.tcp_accept(l);
        s = r as u64;
        r > 0
    });
    let mut r = Rng(0xdead_beef_cafe_f00d);
    let start = std::time::Instant::now();
    let mut buf = vec![0u8; 4096];
    for round in 0..20_000 / 40 {
        {
            let mut w = p.wire.borrow_mut();
            for _ in 0..40 {
                let f = frame(&mut r);
                w.q[0].push_back(f);
            }
        }
        let t0 = std::time::Instant::now();
        let _ = poll(&mut p.a);
        assert!(t0.elapsed().as_secs() < 2, "one poll took {:?}", t0.elapsed());
        // Accept whatever the fuzzer managed to open, read what arrives, answer UDP.
        while p.a.tcp_accept(l) > 0 {}
        let _ = p.a.sock_recv(s, buf.as_mut_ptr(), buf.len() as u64);
        let mut from = 0;
        while p.a.udp_recv_from(u, buf.as_mut_ptr(), 64, &mut from) > 0 {}
        // B's replies to A's RSTs/ACKs are dropped: B is not part of the fuzz.
        p.wire.borrow_mut().q[1].clear();
        p.clock.set(p.clock.get() + 1_000_000 * (round % 3));
    }
    eprintln!("20000 frames in {:?}, A: {:?}", start.elapsed(), p.a.stats);
    assert!(start.elapsed().as_secs() < 60);
    // A still works: once B has answered A's SYN-ACKs to the fuzzer's SYNs with resets (the
    // half-open connections fill the backlog meanwhile, as a SYN flood does), a new connection
    // echoes.
    for _ in 0..300 {
        p.step(100_000);
    }
    let c2 = p.b.tcp_connect(A_ADDR, 80) as u64;
    let mut s2 = 0;
    p.until(2000, |p| {
        let r = p.a.tcp_accept(l);
        if r > 0 {
            s2 = r as u64;
        }
        s2 != 0 && p.b.sock_send(c2, b"ping".as_ptr(), 4) == 4
    });
    let mut got = Vec::new();
    p.until(2000, |p| {
        let n = p.a.sock_recv(s2, buf.as_mut_ptr(), 16);
        if n > 0 {
            got.extend_from_slice(&buf[..n as usize]);
        }
        got.len() >= 4
    });
    assert_eq!(&got[..], b"ping");
    let _ = c;
}
