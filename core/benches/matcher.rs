//! Caller-ID matching cost, side by side: an E.164 caller ID, a national
//! one (with spaces and a trunk prefix), and a rejected one.
//!
//! `cargo bench -p motp-core --bench matcher`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use motp_core::{CallerIdMatcher, CallerPattern};

fn matcher(c: &mut Criterion) {
    let pattern = CallerPattern::new("+442079460", 3).unwrap();
    let matcher = CallerIdMatcher::new(pattern, "GB").unwrap();
    let mut group = c.benchmark_group("match_number");
    for (name, raw) in [
        ("e164", "+442079460123"),
        ("national", "020 7946 0123"),
        ("rejected_wrong_country", "+33 1 23 45 67 89"),
        ("rejected_withheld", "Private number"),
    ] {
        group.bench_function(name, |b| b.iter(|| matcher.match_number(black_box(raw))));
    }
    group.finish();

    c.bench_function("matcher_new", |b| {
        let pattern = CallerPattern::new("+442079460", 3).unwrap();
        b.iter(|| CallerIdMatcher::new(black_box(pattern.clone()), "GB"))
    });
}

criterion_group!(benches, matcher);
criterion_main!(benches);
