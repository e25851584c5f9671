//! Two servers on one PostgreSQL database (issue 16 item 2): wrong-code
//! checks sent to both at once spend the attempt budget exactly once each,
//! and a right code approves once, whichever instance gets it.

mod common;

use std::sync::Arc;

use common::{harness, wrong, Backend};
use motp_server::server::{start, Overrides};

const PHONE: &str = "+447400123456";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_attempt_budget_holds_across_instances() {
    let Some(h) = harness(Backend::Postgres, |c| c.codes.max_attempts = 10).await else {
        return;
    };
    let second = start(
        h.server.state.config.clone(),
        Overrides {
            clock: Some(h.clock.clone()),
            telephony: Some(h.telephony.clone()),
            recorder: Some(h.recorder.clone()),
        },
    )
    .await
    .expect("second instance starts");
    let urls = [h.server.url(), second.url()];
    let (id, code) = h.create_ok(PHONE).await;
    let h = Arc::new(h);
    let mut tasks = Vec::new();
    for n in 0..30u32 {
        let (h, id, guess) = (h.clone(), id.clone(), wrong(&code, n));
        let url = format!("{}/v1/verifications/{id}/check", urls[n as usize % 2]);
        tasks.push(tokio::spawn(async move {
            let response = h
                .http
                .post(url)
                .bearer_auth(&h.pk)
                .json(&serde_json::json!({ "code": guess }))
                .send()
                .await
                .unwrap();
            common::answer(response).await
        }));
    }
    let mut lefts = Vec::new();
    let mut gone = 0;
    for t in tasks {
        let a = t.await.unwrap();
        match a.status.as_u16() {
            422 => lefts.push(a.body["attempts_left"].as_u64().unwrap()),
            410 => gone += 1,
            other => panic!("unexpected {other}: {:?}", a.body),
        }
    }
    lefts.sort_unstable();
    assert_eq!(
        lefts,
        (1..=9).collect::<Vec<u64>>(),
        "each attempt spent once"
    );
    assert_eq!(gone, 21);
    // A fresh verification: the right code sent to both at once approves once.
    let (id, code) = h.create_ok("+447400123457").await;
    let mut tasks = Vec::new();
    for url in &urls {
        let (h, code) = (h.clone(), code.clone());
        let url = format!("{url}/v1/verifications/{id}/check");
        tasks.push(tokio::spawn(async move {
            let response = h
                .http
                .post(url)
                .bearer_auth(&h.pk)
                .json(&serde_json::json!({ "code": code }))
                .send()
                .await
                .unwrap();
            response.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    second.stop().await;
    Arc::try_unwrap(h).ok().unwrap().stop().await;
}
