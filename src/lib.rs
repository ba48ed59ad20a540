//! prosody-admin: the binary's pieces. The API trait and models are generated from
//! `api-spec/openapi.yaml` into `generated/`; their implementation is `backend/`.
//!
//! Module map:
//! - [`cli`]: the `prosody-admin` command line (serve, token, user).
//! - [`config`]: flags, `PROSODY_ADMIN_*` variables and the TOML file.
//! - [`http`]: the HTTP layer in front of the generated router (auth, limits, JSON
//!   errors, logging) and the accept loop with graceful shutdown.
//! - [`response_cache`]: whole responses of the operations the spec marks cacheable.

pub mod cli;
pub mod config;
pub mod http;
pub mod response_cache;
