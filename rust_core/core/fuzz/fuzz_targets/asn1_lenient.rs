//! Lenient DER reader: never panics; every element it returns keeps
//! consistent slices of the input (raw = header ‖ content), and walking the
//! whole tree (bounded here) never fails differently from a single read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidian_core::asn1::{self, Element};

fn walk(e: &Element<'_>, depth: usize) {
    assert_eq!(e.raw.len(), e.header.len() + e.content.len());
    assert!(e.raw.ends_with(e.content) && e.raw.starts_with(e.header));
    let _ = e.text("x");
    let _ = e.time("x");
    let _ = e.small_uint("x");
    let _ = e.bit_string("x");
    if let Ok(oid) = e.oid("x") {
        let _ = asn1::oid_to_string(oid);
    }
    if depth < 32 && e.constructed {
        if let Ok(kids) = e.children() {
            let total: usize = kids.iter().map(|k| k.raw.len()).sum();
            assert_eq!(total, e.content.len());
            for k in &kids {
                walk(k, depth + 1);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok((e, next)) = asn1::read(rest) {
        walk(&e, 0);
        rest = next;
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = asn1::parse_text_time(s);
    }
});
