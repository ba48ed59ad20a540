//! The listings written straight from rows (`*_json`) are byte for byte what the
//! generated trait's answer (a `Vec` of models) serializes to, page by page, on both
//! layouts and both engines (PostgreSQL: a private server, `tests/pg/cluster.sh`); and
//! pages chain through their cursors to the whole list, in byte order.

use std::io::BufRead;

use backend::paging::Page;
use backend::storage::Location;
use backend::username::Username;
use backend::{Backend, ProsodyVersion, Settings, Store};

/// The tests' private PostgreSQL server, for this process: (socket dir, port). TLS on
/// (a certificate for 127.0.0.1 from a test CA, `ca.pem` in the dir), required over TCP.
fn cluster() -> &'static (String, u16) {
    static CLUSTER: std::sync::OnceLock<(String, u16)> = std::sync::OnceLock::new();
    CLUSTER.get_or_init(|| {
        let dir = format!("/tmp/pa-pg-b{}", std::process::id());
        std::fs::create_dir_all(&dir).unwrap();
        {
            use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
            let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
            ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let ca_key = KeyPair::generate().unwrap();
            let ca = ca.self_signed(&ca_key).unwrap();
            let key = KeyPair::generate().unwrap();
            let cert =
                CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap().signed_by(&key, &ca, &ca_key).unwrap();
            std::fs::write(format!("{dir}/ca.pem"), ca.pem()).unwrap();
            std::fs::write(format!("{dir}/server.crt"), cert.pem()).unwrap();
            std::fs::write(format!("{dir}/server.key"), key.serialize_pem()).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = std::process::Command::new("bash")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/pg/cluster.sh"))
            .args([&dir, &port.to_string(), &std::process::id().to_string()])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready");
        std::mem::forget(child); // it stops the server when this process exits
        (dir, port)
    })
}

/// A fresh database of the engine: a SQLite file in `dir`, or a new PostgreSQL database.
/// Blocking (the PostgreSQL client runs its own runtime): call it off the async one.
fn location(engine: &str, version: ProsodyVersion, dir: &tempfile::TempDir) -> Location {
    if engine == "sqlite" {
        return Location::Sqlite(dir.path().join("db.sqlite"));
    }
    let (sock, port) = cluster();
    let name = format!("l{}_{}", std::process::id(), version.to_string().replace('.', "_"));
    let admin = format!("host={sock} port={port} user=postgres dbname=postgres");
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    c.batch_execute(&format!("CREATE DATABASE \"{name}\"")).unwrap(); // our name, quoted
    Location::parse(&format!(
        "postgresql://postgres@127.0.0.1:{port}/{name}?sslmode=verify-full&sslrootcert={sock}/ca.pem"
    ))
    .unwrap()
}

fn backend(engine: &str, version: ProsodyVersion, dir: &tempfile::TempDir) -> Backend {
    let store =
        Store::open_at(&location(engine, version, dir), "localhost", "groups.localhost", Some(version)).unwrap();
    Backend::new(store, Settings::for_host("localhost"))
}

fn seed_accounts(b: &Backend) {
    for i in 0..37 {
        // Names that sort in interesting ways: digits, dots, non-ASCII.
        let name = match i % 4 {
            0 => format!("user{i:02}"),
            1 => format!("a.{i}"),
            2 => format!("zoë{i}"),
            _ => format!("{i}x"),
        };
        let u = Username::parse(&name).unwrap();
        b.add_user(&u, "pw").unwrap();
        if i % 5 == 0 {
            b.grant_admin(&u).unwrap();
        }
    }
}

async fn seed(b: &Backend) {
    for i in 0..23 {
        let g = b.create_group(format!("Group {i}"), i % 3 == 0).await.unwrap();
        if i % 2 == 0 {
            b.add_group_member(g.id, Username::parse("user00").unwrap()).await.unwrap();
        }
    }
    for _ in 0..29 {
        b.create_invite(backend::invites::NewInvite::account(None).unwrap(), "admin").await.unwrap();
    }
}

// One test per engine: `make check` (SQLite only) skips the PostgreSQL one by name.
#[tokio::test(flavor = "multi_thread")]
async fn streamed_listings_are_byte_identical_to_the_models_serialized_on_sqlite() {
    byte_identical("sqlite").await
}

#[tokio::test(flavor = "multi_thread")]
async fn streamed_listings_are_byte_identical_to_the_models_serialized_on_postgresql() {
    byte_identical("postgresql").await
}

async fn byte_identical(engine: &str) {
    for version in [ProsodyVersion::V13, ProsodyVersion::V0_12] {
        let dir = tempfile::tempdir().unwrap();
        // Opening, the seed's CLI-side writes and the last drop block: off the runtime.
        let b = tokio::task::block_in_place(|| backend(engine, version, &dir));
        tokio::task::block_in_place(|| seed_accounts(&b));
        seed(&b).await;
        for limit in [None, Some(1), Some(5), Some(10_000)] {
            let mut after: Option<String> = None;
            let (mut users, mut pages) = (Vec::new(), 0);
            loop {
                let page = Page { limit, after: after.clone() };
                let (models, next) = b.list_users(page.clone()).await.unwrap();
                let streamed = b.list_users_json(page.clone()).await.unwrap();
                assert_eq!(
                    streamed.body,
                    serde_json::to_vec(&models).unwrap(),
                    "{engine} {version:?} {limit:?} {after:?}"
                );
                assert_eq!(streamed.next, next);
                users.extend(models.into_iter().map(|u| u.username.unwrap()));
                pages += 1;
                match next {
                    Some(c) => after = Page::parse(None, Some(&c)).unwrap().after,
                    None => break,
                }
            }
            assert_eq!(users.len(), 37, "{engine} {version:?} {limit:?}");
            assert!(users.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
            if limit == Some(5) {
                assert_eq!(pages, 8);
            }

            let (mut groups, mut after) = (0, None::<String>);
            loop {
                let page = Page { limit, after: after.clone() };
                let (models, next) = b.list_groups(page.clone()).await.unwrap();
                let streamed = b.list_groups_json(page).await.unwrap();
                assert_eq!(streamed.body, serde_json::to_vec(&models).unwrap());
                groups += models.len();
                match next {
                    Some(c) => after = Page::parse(None, Some(&c)).unwrap().after,
                    None => break,
                }
            }
            assert_eq!(groups, 23);

            let (mut invites, mut after) = (0, None::<String>);
            loop {
                let page = Page { limit, after: after.clone() };
                let (models, next) = b.list_invites(page.clone()).await.unwrap();
                let streamed = b.list_invites_json(page).await.unwrap();
                assert_eq!(streamed.body, serde_json::to_vec(&models).unwrap());
                assert_eq!(streamed.valid_until, models.iter().map(|i| i.expires).min());
                invites += models.len();
                match next {
                    Some(c) => after = Page::parse(None, Some(&c)).unwrap().after,
                    None => break,
                }
            }
            assert_eq!(invites, 29);
        }
        tokio::task::block_in_place(|| drop(b));
    }
}
