//! prosody-admin: the binary's pieces. The API trait and models are generated from
//! `api-spec/openapi.yaml` into `generated/`; their implementation is `backend/`.
//!
//! Module map:
//! - [`cli`]: the `prosody-admin` command line (serve, token, user, audit); [`tasks`]:
//!   its everyday tasks (users, invites with a QR code, groups).
//! - [`config`]: flags, `PROSODY_ADMIN_*` variables, the TOML file and Prosody's own
//!   config ([`prosody_config`]: evaluated in a sandboxed Lua).
//! - [`conn`]: the accept loop, connection cap, header/idle timeouts, graceful
//!   shutdown; [`tls`]: HTTPS with certificate reload on SIGHUP.
//! - [`http`]: the HTTP layer in front of the generated router (auth, audit, body
//!   limits, HEAD, no-store, listings, logging); [`respond`]: the responses it writes
//!   itself (JSON errors, cached answers); [`cors`]: OPTIONS and CORS;
//!   [`throttle`]: failed authentications per client address; [`client_addr`]: the
//!   client's address behind trusted reverse proxies.
//! - [`sites`]: the VirtualHosts served and which one a request is for; [`forward`]:
//!   paths outside `/admin_api` to Prosody's own HTTP (`prosody_http`).
//! - [`monitor`]: the optional monitoring-only listener (metrics, health).
//! - [`response_cache`]: whole responses of the operations the spec marks cacheable.

pub mod cli;
pub mod client_addr;
pub mod config;
pub mod conn;
pub mod cors;
pub mod forward;
pub mod http;
pub mod monitor;
pub mod options;
pub mod prosody_config;
pub mod respond;
pub mod response_cache;
pub mod sites;
pub mod tasks;
pub mod throttle;
pub mod tls;
