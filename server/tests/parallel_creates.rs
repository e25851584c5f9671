//! Creates at once (SQLite groups them into one transaction, issue 16):
//! the destination caps hold exactly, and every create to a distinct
//! number goes through with its own verification.

mod common;

use std::sync::Arc;

use common::{harness, Backend};

on_both_backends!(parallel_creates_respect_the_cap_exactly);

async fn parallel_creates_respect_the_cap_exactly(backend: Backend) {
    let Some(h) = harness(backend, |c| {
        c.limits.hourly_cap_per_destination = 5;
        c.limits.daily_cap_per_destination = 10;
    })
    .await
    else {
        return;
    };
    let h = Arc::new(h);
    // 20 at once to one number, 20 to distinct numbers, interleaved.
    let tasks: Vec<_> = (0..40)
        .map(|n| {
            let h = h.clone();
            let phone = if n % 2 == 0 {
                "+447400123456".to_string()
            } else {
                format!("+4474009000{n:02}")
            };
            tokio::spawn(async move { (n, h.create(&phone).await) })
        })
        .collect();
    let (mut same_ok, mut same_capped, mut distinct_ok) = (0, 0, 0);
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (n, a) = t.await.unwrap();
        match (n % 2, a.status.as_u16()) {
            (0, 201) => same_ok += 1,
            (0, 429) => {
                a.problem(429, "rate-limited");
                assert!(a.retry_after.is_some());
                same_capped += 1;
            }
            (1, 201) => distinct_ok += 1,
            (_, other) => panic!("#{n}: unexpected {other}: {:?}", a.body),
        }
        if a.status.as_u16() == 201 {
            assert!(ids.insert(a.body["id"].as_str().unwrap().to_string()));
        }
    }
    assert_eq!((same_ok, same_capped, distinct_ok), (5, 15, 20));
    for id in &ids {
        assert_eq!(h.get(id).await.status.as_u16(), 200);
    }
    Arc::try_unwrap(h).ok().unwrap().stop().await;
}
