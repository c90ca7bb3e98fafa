//! The endpoint given with `--endpoint`, as the session carries it: where the commands talk to, and whether it
//! is on this machine (an emulator's), for the hints of a refused connection.

/// An endpoint of the user's own (`--endpoint`).
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub url: url::Url,
    /// On this machine: `localhost` or a loopback address.
    pub loopback: bool,
}

impl Endpoint {
    pub fn new(url: url::Url) -> Self {
        let loopback = url.host_str().is_some_and(|h| {
            h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()) || h == "[::1]"
        });
        Self { url, loopback }
    }
}
