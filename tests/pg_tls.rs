//! PostgreSQL over TLS (rustls), with libpq's `sslmode` meanings, against the tests'
//! private server (tests/pg/cluster.sh) with `ssl = on`, TLS required over TCP, and a
//! certificate for 127.0.0.1 from a test CA (tests/common: `pg::certificates`). Every
//! other PostgreSQL suite already connects with `sslmode=verify-full` and that CA.

mod common;

use std::process::Command;

use common::pg;

/// `user list` on `url`: (success, stdout and stderr).
fn user_list(url: &str, log: &str) -> (bool, String) {
    let o = Command::new(common::BIN).args(["--database", url, "user", "list"]).env("RUST_LOG", log).output().unwrap();
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

/// The fresh database's URL with another host, mode and root file.
fn variant(url: &str, host: &str, query: &str) -> String {
    let base = url.split('?').next().unwrap().replacen("127.0.0.1", host, 1);
    format!("{base}?{query}")
}

#[test]
fn sslmodes_mean_what_libpq_means() {
    let url = pg::fresh_database();
    let ca = pg::cluster().ca();
    let ca = ca.display();
    // verify-full with the CA, for the name on the certificate: connects, over TLS.
    let (ok, out) = user_list(&url, "warn");
    assert!(ok, "{out}");
    let o = Command::new(common::BIN).args(["--database", &url, "user", "add", "tls_user"]).output().unwrap();
    assert!(o.status.success());
    // A name the certificate is not for ("localhost"): refused under verify-full,
    // accepted under verify-ca (the chain is good) and require (not checked).
    let (ok, out) = user_list(&variant(&url, "localhost", &format!("sslmode=verify-full&sslrootcert={ca}")), "warn");
    assert!(!ok && out.contains("certificate") && out.contains("prosody-admin:"), "{out}");
    for mode in [format!("sslmode=verify-ca&sslrootcert={ca}"), "sslmode=require".to_string()] {
        let (ok, out) = user_list(&variant(&url, "localhost", &mode), "warn");
        assert!(ok && out.contains("tls_user"), "{mode}: {out}");
    }
    // verify-full without the test CA (the system's roots): refused.
    let (ok, out) = user_list(&variant(&url, "127.0.0.1", "sslmode=verify-full"), "warn");
    assert!(!ok && out.contains("certificate"), "{out}");
    // disable against a server that requires TLS: a clear error from the server.
    let (ok, out) = user_list(&variant(&url, "127.0.0.1", "sslmode=disable"), "warn");
    assert!(!ok && out.contains("no encryption"), "{out}");
    // prefer (libpq's default): TLS, since the server offers it.
    let (ok, out) = user_list(&variant(&url, "127.0.0.1", ""), "warn");
    assert!(ok && out.contains("tls_user"), "{out}");
    // Bad options are errors at once.
    for (q, says) in [
        ("sslmode=sometimes", "invalid sslmode"),
        ("sslmode=verify-full&sslrootcert=/nonexistent/ca.pem", "/nonexistent/ca.pem"),
        ("sslcert=/x.pem&sslkey=/x.key", "client certificates"),
    ] {
        let (ok, out) = user_list(&variant(&url, "127.0.0.1", q), "warn");
        assert!(!ok && out.contains(says), "{q}: {out}");
    }
}

#[test]
fn the_service_connects_over_tls_and_logs_no_secret() {
    const SECRET: &str = "tls-s3cret-pw";
    let url = pg::fresh_database().replacen("postgres@", &format!("postgres:{SECRET}@"), 1);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let (mut child, text) = common::spawn_serve_logged(&url, dir.path(), "debug");
    // Every connection of the service to its database is encrypted (pool, writer, watch).
    let db = url.split('?').next().unwrap().rsplit_once('/').unwrap().1.to_string();
    let mut c = pg::connect(&url);
    let rows = c
        .query(
            "SELECT s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid WHERE a.datname = $1 \
             AND a.pid <> pg_backend_pid()",
            &[&db],
        )
        .unwrap();
    assert!(!rows.is_empty(), "the service holds connections");
    assert!(rows.iter().all(|r| r.get::<_, bool>(0)), "a plain connection among the service's");
    let _ = child.kill();
    let _ = child.wait();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("sslmode verify-full"), "{logged}");
    assert!(!logged.contains(SECRET) && !text.contains(SECRET), "{logged}{text}");
    assert!(!logged.contains("PRIVATE KEY"), "key material in the log");
}
