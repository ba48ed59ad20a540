//! Group commit: concurrent writes share commits, each still all-or-nothing on its own.

use backend::storage::StoreError;
use backend::{ProsodyVersion, Store};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_share_commits_and_fail_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Store::open(&dir.path().join("db.sqlite"), "localhost", "groups.localhost", Some(ProsodyVersion::V13)).unwrap();
    let before = store.generation();
    const N: usize = 400;
    let mut tasks = Vec::new();
    for i in 0..N {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .write(move |db| {
                    // Every write changes something; every third then fails, one panics.
                    db.offline().append(&format!("u{i}"), &format!("m{i}"), 1, format!("<message id='{i}'/>"))?;
                    if i == 7 {
                        panic!("a bug in one write");
                    }
                    if i % 3 == 0 {
                        return Err(StoreError(format!("write {i} refused")));
                    }
                    Ok(i)
                })
                .await
        }));
    }
    let mut ok = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Ok(v) => {
                assert_eq!(v, i);
                assert!(i % 3 != 0 && i != 7);
                ok += 1;
            }
            Err(_) => assert!(i % 3 == 0 || i == 7, "write {i} failed"),
        }
    }
    let commits = store.generation() - before;
    let c = rusqlite::Connection::open(dir.path().join("db.sqlite")).unwrap();
    let stored: Vec<String> = c
        .prepare("SELECT user FROM prosodyarchive WHERE store='offline' ORDER BY sort_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // Exactly the writes that succeeded are there; the failed ones left nothing.
    assert_eq!(stored.len(), ok);
    for u in &stored {
        let i: usize = u[1..].parse().unwrap();
        assert!(i % 3 != 0 && i != 7, "{u} was rolled back but is stored");
    }
    // Fewer commits than writes: they were grouped.
    assert!(commits < N as u64, "{commits} commits for {N} writes");
    eprintln!("{N} concurrent writes: {ok} succeeded, {commits} commits");
}
