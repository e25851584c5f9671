//! The purge of expired verifications (issue 16), on SQLite and PostgreSQL:
//! rows whose code expired more than `codes.keep_expired_secs` ago go, in
//! batches; younger ones (expired or live) stay and answer as before.

mod common;

use std::time::Duration;

use common::{harness, Backend};

on_both_backends!(only_long_expired_verifications_are_purged);

async fn only_long_expired_verifications_are_purged(backend: Backend) {
    let Some(h) = harness(backend, |c| {
        c.codes.ttl_secs = 300;
        c.codes.keep_expired_secs = 3600;
        c.limits.daily_cap_per_destination = 10_000;
        c.limits.hourly_cap_per_destination = 10_000;
    })
    .await
    else {
        return;
    };
    // More than one batch of old ones, so the purge has to loop.
    let old_count = 1_100;
    let mut old = Vec::new();
    for n in 0..old_count {
        old.push(h.create_ok(&format!("+4474001{n:05}")).await.0);
    }
    // 300 s TTL + 3600 s kept + 1 s: the old ones are purgeable now …
    h.advance(Duration::from_secs(300 + 3600 + 1));
    // … one expired a moment ago is kept, and a live one too.
    let (recent, _) = h.create_ok("+447400200001").await;
    h.advance(Duration::from_secs(301));
    let (live, _) = h.create_ok("+447400200002").await;
    let before = h.clock_ms() - 3_600_000;
    let purged = h.server.state.store.purge_expired(before).await.unwrap();
    assert_eq!(purged, old_count);
    for id in [&old[0], &old[old.len() - 1]] {
        h.get(id).await.problem(404, "not-found");
    }
    assert_eq!(h.get(&recent).await.body["status"], "expired");
    let live = h.get(&live).await;
    assert_eq!(live.status.as_u16(), 200);
    assert_ne!(live.body["status"], "expired");
    assert_eq!(h.server.state.store.purge_expired(before).await.unwrap(), 0);
    h.stop().await;
}
