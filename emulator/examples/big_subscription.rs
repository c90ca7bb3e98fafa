//! What a page of one big subscription costs the emulator, against the same pages spread over many small
//! subscriptions (the baseline, in the same process): 20,000 requests listed in pages of 50, once from one
//! subscription and once from 400 subscriptions of 50 (one page each). The same 400 pages and the same JSON are
//! sent both times, so the ratio is what a page costs for being deep in a big subscription; 1.0x would be no cost.
//!
//! ```sh
//! cargo run --release -p azure_customer_lockbox_emulator --example big_subscription
//! ```
//!
//! It prints one line, e.g. `big subscription: 20000 requests in 400 pages, 1.23 s; spread over 400
//! subscriptions: 0.45 s; 2.7x`.

use std::time::{Duration, Instant};

use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig, TenantSeed};

const REQUESTS: usize = 20_000;
const PAGE: usize = 50;

#[tokio::main]
async fn main() {
    let client = reqwest::Client::new();

    let big = Emulator::start(EmulatorConfig::default().with_page_size(PAGE)).await.unwrap();
    let one =
        big.seed_tenant(&TenantSeed { subscriptions: 1, requests_per_subscription: REQUESTS, ..Default::default() });
    let (listed, pages, deep) = list_all(&client, &big, &one).await;
    assert_eq!((listed, pages), (REQUESTS, REQUESTS / PAGE));

    let spread = Emulator::start(EmulatorConfig::default().with_page_size(PAGE)).await.unwrap();
    let many = spread.seed_tenant(&TenantSeed {
        subscriptions: REQUESTS / PAGE,
        requests_per_subscription: PAGE,
        ..Default::default()
    });
    let (listed, pages, shallow) = list_all(&client, &spread, &many).await;
    assert_eq!((listed, pages), (REQUESTS, REQUESTS / PAGE));

    println!(
        "big subscription: {REQUESTS} requests in {pages} pages, {:.2} s; spread over {} subscriptions: {:.2} s; {:.1}x",
        deep.as_secs_f64(),
        many.len(),
        shallow.as_secs_f64(),
        deep.as_secs_f64() / shallow.as_secs_f64()
    );
}

/// Lists every request of `subscriptions`, one after the other, following `nextLink`s: requests, pages, time.
async fn list_all(client: &reqwest::Client, emulator: &Emulator, subscriptions: &[String]) -> (usize, usize, Duration) {
    let started = Instant::now();
    let (mut requests, mut pages) = (0, 0);
    for subscription in subscriptions {
        let mut url = format!(
            "{}subscriptions/{subscription}/providers/Microsoft.CustomerLockbox/requests?api-version=2018-02-28-preview",
            emulator.url()
        );
        loop {
            let page: serde_json::Value =
                client.get(&url).bearer_auth("token").send().await.unwrap().json().await.unwrap();
            requests += page["value"].as_array().map_or(0, Vec::len);
            pages += 1;
            match page["nextLink"].as_str() {
                Some(next) => url = next.to_owned(),
                None => break,
            }
        }
    }
    (requests, pages, started.elapsed())
}
