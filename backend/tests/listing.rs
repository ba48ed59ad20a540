//! The listings written straight from rows (`*_json`) are byte for byte what the
//! generated trait's answer (a `Vec` of models) serializes to, page by page, on both
//! layouts; and pages chain through their cursors to the whole list.

use backend::paging::Page;
use backend::username::Username;
use backend::{Backend, ProsodyVersion, Settings, Store};

fn backend(version: ProsodyVersion, dir: &tempfile::TempDir) -> Backend {
    let store = Store::open(&dir.path().join("db.sqlite"), "localhost", "groups.localhost", Some(version)).unwrap();
    Backend::new(store, Settings::for_host("localhost"))
}

async fn seed(b: &Backend) {
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

#[tokio::test(flavor = "multi_thread")]
async fn streamed_listings_are_byte_identical_to_the_models_serialized() {
    for version in [ProsodyVersion::V13, ProsodyVersion::V0_12] {
        let dir = tempfile::tempdir().unwrap();
        let b = backend(version, &dir);
        seed(&b).await;
        for limit in [None, Some(1), Some(5), Some(10_000)] {
            let mut after: Option<String> = None;
            let (mut users, mut pages) = (Vec::new(), 0);
            loop {
                let page = Page { limit, after: after.clone() };
                let (models, next) = b.list_users(page.clone()).await.unwrap();
                let streamed = b.list_users_json(page.clone()).await.unwrap();
                assert_eq!(streamed.body, serde_json::to_vec(&models).unwrap(), "{version:?} {limit:?} {after:?}");
                assert_eq!(streamed.next, next);
                users.extend(models.into_iter().map(|u| u.username.unwrap()));
                pages += 1;
                match next {
                    Some(c) => after = Page::parse(None, Some(&c)).unwrap().after,
                    None => break,
                }
            }
            assert_eq!(users.len(), 37, "{version:?} {limit:?}");
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
    }
}
