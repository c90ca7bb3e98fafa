//! Fitting the Azure SDK for Rust: azure_core's cloud type, HTTPS with the default features, and the conversion
//! into `azure_core::Error`.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use crate::common;
use crate::common::{SUB, TOKEN, TestClient};
use azure_core::{
    cloud::{Audiences, CloudConfiguration, CustomConfiguration},
    credentials::{AccessToken, TokenCredential, TokenRequestOptions},
    error::ErrorKind,
    time::{Duration, OffsetDateTime},
};
use azure_customer_lockbox::{
    Audience, CustomerLockboxClient, CustomerLockboxClientOptions, Error, TransportKind, options::Retries, reqwest,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

/// A credential that records the scopes it is asked for.
#[derive(Debug, Default)]
struct ScopeCredential(Mutex<Vec<String>>);

impl ScopeCredential {
    fn scopes(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl TokenCredential for ScopeCredential {
    async fn get_token(&self, scopes: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        self.0.lock().unwrap().extend(scopes.iter().map(|s| s.to_string()));
        Ok(AccessToken::new(TOKEN.to_owned(), OffsetDateTime::now_utc() + Duration::hours(1)))
    }
}

const HOSTS: [&str; 4] =
    ["management.azure.com", "management.usgovcloudapi.net", "management.chinacloudapi.cn", "management.mycloud.local"];

/// A local HTTPS server whose self-signed certificate names the Resource Manager hosts. It answers every
/// request `200 {}` and records each request's first line and `Host` header.
struct TlsServer {
    addr: SocketAddr,
    ca_pem: String,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

/// The *ring* provider, as the SDK's default `rustls` feature installs it (deprecated in rustls 0.23.48 for
/// having no post-quantum key exchange; see `install_tls_provider` in `src/client.rs`).
fn ring() -> rustls::crypto::CryptoProvider {
    #[allow(deprecated)]
    rustls::crypto::ring::default_provider()
}

async fn tls_server() -> TlsServer {
    let _ = ring().install_default();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(HOSTS.map(String::from).to_vec()).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(ring()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let record = record.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let line = head.lines().next().unwrap_or_default().to_owned();
                let host = head
                    .lines()
                    .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("host")))
                    .map(|(_, v)| v.trim().to_owned())
                    .unwrap_or_default();
                record.lock().unwrap().push((line, host));
                let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    TlsServer { addr, ca_pem: cert.pem(), seen }
}

impl TlsServer {
    /// A reqwest client (through the SDK's re-export) that trusts the test certificate and sends every
    /// Resource Manager host to this server.
    fn http_client(&self) -> reqwest::Client {
        let mut builder = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap()])
            .redirect(reqwest::redirect::Policy::none());
        for host in HOSTS {
            builder = builder.resolve(host, self.addr);
        }
        builder.build().unwrap()
    }
}

fn custom_cloud(audience: &str) -> CloudConfiguration {
    let mut custom = CustomConfiguration::default();
    custom.authority_host = "https://login.mycloud.local".into();
    custom.audiences = Audiences::new().with::<Audience>(audience.into());
    CloudConfiguration::Custom(custom)
}

/// Each of azure_core's clouds sends the call to its Resource Manager over HTTPS, with a token for its scope.
#[tokio::test]
async fn each_cloud_calls_its_resource_manager_over_https_with_its_scope() {
    let server = tls_server().await;
    let cases = [
        (CloudConfiguration::AzurePublic, "management.azure.com"),
        (CloudConfiguration::AzureGovernment, "management.usgovcloudapi.net"),
        (CloudConfiguration::AzureChina, "management.chinacloudapi.cn"),
    ];
    for (cloud, host) in cases {
        let credential = Arc::new(ScopeCredential::default());
        let options = CustomerLockboxClientOptions {
            cloud: cloud.clone(),
            http_client: Some(server.http_client()),
            retry: Retries::None,
            ..Default::default()
        };
        let client = CustomerLockboxClient::new(credential.clone(), Some(options)).unwrap();
        assert_eq!(client.endpoint().as_str(), format!("https://{host}/"), "{cloud:?}");
        client.tenant().enable(None).await.unwrap_or_else(|e| panic!("{cloud:?}: {e}"));
        assert_eq!(credential.scopes(), [format!("https://{host}/.default")], "{cloud:?}");
        let (line, called) = server.seen.lock().unwrap().pop().expect("a request reached the TLS server");
        assert_eq!(called, host, "{cloud:?}");
        assert!(
            line.starts_with("POST /providers/Microsoft.CustomerLockbox/enableLockbox?api-version=2018-02-28-preview "),
            "{line}"
        );
    }
}

/// A custom cloud over HTTPS: the endpoint option says where, the `Audience` entry which scope.
#[tokio::test]
async fn a_custom_cloud_uses_its_audience_and_the_explicit_endpoint_over_https() {
    let server = tls_server().await;
    let credential = Arc::new(ScopeCredential::default());
    let options = CustomerLockboxClientOptions {
        cloud: custom_cloud("https://management.mycloud.local/"),
        endpoint: Some("https://management.mycloud.local".parse().unwrap()),
        http_client: Some(server.http_client()),
        retry: Retries::None,
        ..Default::default()
    };
    let client = CustomerLockboxClient::new(credential.clone(), Some(options)).unwrap();
    client.tenant().disable(None).await.unwrap();
    assert_eq!(credential.scopes(), ["https://management.mycloud.local/.default"]);
    let (line, host) = server.seen.lock().unwrap().pop().unwrap();
    assert_eq!(host, "management.mycloud.local");
    assert!(line.starts_with("POST /providers/Microsoft.CustomerLockbox/disableLockbox?"), "{line}");
}

/// HTTPS with the default features and the SDK's own HTTP client: the handshake is made (and, since the test
/// certificate is not trusted by the platform, refused as a certificate failure, not "no TLS support").
#[tokio::test]
async fn the_default_client_speaks_tls_and_checks_certificates() {
    let server = tls_server().await;
    let endpoint = format!("https://localhost:{}/", server.addr.port());
    let client = TestClient::new(endpoint).credential(Arc::new(ScopeCredential::default())).build();
    let error = client.tenant().enable(None).await.unwrap_err();
    let Error::Transport { source, .. } = &error else { panic!("{error:?}") };
    let chain = format!("{:?}", source);
    assert!(chain.contains("certificate") || chain.contains("Certificate"), "{chain}");
    assert!(server.seen.lock().unwrap().is_empty(), "no request may pass an untrusted certificate");
}

/// An HTTPS endpoint whose certificate the client does not trust: a certificate will not change on a retry, so
/// the call fails after one attempt (with the default retry policy), and its message names the certificate.
#[tokio::test]
async fn an_untrusted_certificate_is_not_retried_and_is_named() {
    let server = tls_server().await;
    let endpoint = format!("https://localhost:{}/", server.addr.port());
    let client =
        TestClient::new(endpoint).retry(Retries::default()).credential(Arc::new(ScopeCredential::default())).build();
    let error = client.tenant().enable(None).await.unwrap_err();
    assert_eq!(error.transport_kind(), Some(TransportKind::Certificate), "{error:?}");
    assert_eq!(error.attempts(), Some(1), "{error}");
    // The kind's own words, which every TLS backend's message starts with; what follows them is the backend's
    // (rustls says `UnknownIssuer`, OpenSSL `certificate verify failed`), so it is not asserted.
    let message = error.to_string();
    assert!(message.contains("transport failure (certificate not trusted"), "{message}");
    assert!(message.contains(") after 1 attempt(s)"), "{message}");
}

/// A refused connection on this machine says so at once: nothing listens on the port, and no retry changes
/// that (a remote host's refusal is still retried, see `error/transport.rs`). With the default retry policy,
/// one attempt, not four over six seconds.
#[tokio::test]
async fn a_refused_connection_on_this_machine_says_connection_refused_and_is_not_retried() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    for host in ["127.0.0.1", "localhost"] {
        let client = TestClient::new(format!("http://{host}:{port}/"))
            .retry(Retries::default())
            .credential(Arc::new(ScopeCredential::default()))
            .build();
        let error = client.tenant().enable(None).await.unwrap_err();
        assert_eq!(error.transport_kind(), Some(TransportKind::ConnectionRefused), "{error:?}");
        assert_eq!(error.attempts(), Some(1), "{host}: {error}");
        let message = error.to_string();
        assert!(message.contains("transport failure (connection refused"), "{message}");
        assert!(!message.contains("api-version"), "no query string: {message}");
    }
}

/// A custom cloud through wiremock (plain http on loopback): host called and scope asked.
#[tokio::test]
async fn a_custom_cloud_against_wiremock() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/providers/Microsoft.CustomerLockbox/enableLockbox"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&mock)
        .await;
    let credential = Arc::new(ScopeCredential::default());
    let client = TestClient::new(mock.uri())
        .with(|o| o.cloud = custom_cloud("api://stack-arm"))
        .credential(credential.clone())
        .build();
    client.tenant().enable(None).await.unwrap();
    assert_eq!(credential.scopes(), ["api://stack-arm/.default"]);
    let requests = mock.received_requests().await.unwrap();
    let host = requests[0].headers.get("host").unwrap().to_str().unwrap();
    assert_eq!(host, mock.uri().trim_start_matches("http://"));
}

#[test]
fn a_custom_cloud_without_endpoint_or_audience_is_refused() {
    let credential = Arc::new(ScopeCredential::default());
    let no_endpoint = CustomerLockboxClientOptions { cloud: custom_cloud("api://arm"), ..Default::default() };
    let error = CustomerLockboxClient::new(credential.clone(), Some(no_endpoint)).unwrap_err();
    assert!(matches!(&error, Error::Configuration(m) if m.contains("endpoint")), "{error:?}");
    let no_audience = CustomerLockboxClientOptions {
        cloud: CloudConfiguration::Custom(CustomConfiguration::default()),
        endpoint: Some("https://management.mycloud.local".parse().unwrap()),
        ..Default::default()
    };
    let error = CustomerLockboxClient::new(credential.clone(), Some(no_audience)).unwrap_err();
    assert!(matches!(&error, Error::Configuration(m) if m.contains("Audience")), "{error:?}");
    assert!(credential.scopes().is_empty());
}

/// `?` into `azure_core::Result` keeps the status and ARM code, and `downcast_ref` gives this crate's error back.
#[tokio::test]
async fn errors_convert_into_azure_core_errors_and_back() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404)
                .insert_header("x-ms-request-id", "rid-404")
                .set_body_json(json!({"error": {"code": "RequestNotFound", "message": "no such request"}})),
        )
        .mount(&mock)
        .await;
    let (client, _) = common::client(&mock.uri());
    async fn mixed(client: &CustomerLockboxClient) -> azure_core::Result<()> {
        client.requests(SUB)?.get("abc", None).await?;
        Ok(())
    }
    let error = mixed(&client).await.unwrap_err();
    assert_eq!(error.http_status(), Some(azure_core::http::StatusCode::NotFound));
    let ErrorKind::HttpResponse { error_code, .. } = error.kind() else { panic!("{error:?}") };
    assert_eq!(error_code.as_deref(), Some("RequestNotFound"));
    let ours = error.downcast_ref::<Error>().expect("our error is the source");
    assert_eq!(ours.code(), Some("RequestNotFound"));
    assert_eq!(ours.request_id(), Some("rid-404"));

    let bad = client.requests("not-a-guid").unwrap_err();
    let converted = azure_core::Error::from(bad);
    assert!(matches!(converted.kind(), ErrorKind::Other), "{converted:?}");
    assert!(matches!(converted.downcast_ref::<Error>(), Some(Error::InvalidArgument { name: "subscription_id", .. })));
}
