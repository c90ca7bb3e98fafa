//! Uses the packaged SDK as a dependent service would, with its default features, and proves those features
//! speak HTTPS: a plain TCP listener stands in for Resource Manager, and the first bytes the SDK sends it must be
//! a TLS handshake record. Without a TLS backend compiled in, the call would fail before connecting.

use std::{io::Read, net::TcpListener, sync::Arc, time::Duration};

use azure_customer_lockbox::{CustomerLockboxClient, CustomerLockboxClientOptions, RetryOptions, StaticTokenCredential};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let server = std::thread::spawn(move || -> std::io::Result<[u8; 3]> {
        let (mut stream, _) = listener.accept()?;
        let mut first = [0u8; 3];
        stream.read_exact(&mut first)?;
        Ok(first) // dropping the stream ends the handshake
    });
    let options = CustomerLockboxClientOptions {
        endpoint: Some(format!("https://127.0.0.1:{port}/").parse()?),
        retry: RetryOptions::none(),
        per_try_timeout: Some(Duration::from_secs(10)),
        ..Default::default()
    };
    let client = CustomerLockboxClient::new(Arc::new(StaticTokenCredential::new("consumer")), Some(options))?;
    let error = client.tenant().enable().await.expect_err("the stand-in server never completes a handshake");
    let first = server.join().expect("listener thread")?;
    // A TLS record: content type 22 (handshake), protocol major version 3.
    assert_eq!(first[..2], [0x16, 0x03], "expected a TLS ClientHello, got {first:02x?}; the call said: {error}");
    println!("consumer: the packaged SDK with default features sent a TLS ClientHello (the call then failed: {error})");
    Ok(())
}
