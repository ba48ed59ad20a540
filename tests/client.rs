//! The generated Rust client (generated/, feature `client`) against the server: the
//! typed view of the contract. A client generated from the spec must understand every
//! response the server gives, success and declared errors alike.

mod common;

use common::Server;
use prosody_admin_api::models;
use prosody_admin_api::{
    AddGroupMemberResponse, ApiNoContext, Client, ContextWrapperExt, CreateGroupResponse,
    CreateInviteForAccountResponse, CreateInviteForGroupResponse, DeleteGroupResponse, DeleteInviteResponse,
    DeleteUserResponse, GetGroupByIdResponse, GetInviteByIdResponse, GetServerInfoResponse, GetUserByNameResponse,
    GetUserDebugInfoResponse, GetUserGroupsResponse, ListGroupsResponse, ListInvitesResponse, ListUsersResponse,
    UpdateUserResponse,
};
use swagger::auth::AuthData;
use swagger::{ContextBuilder, EmptyContext, Nullable, Push, XSpanIdString};

type Ctx = swagger::make_context_ty!(ContextBuilder, EmptyContext, Option<AuthData>, XSpanIdString);

fn client(s: &Server, token: &str) -> impl ApiNoContext<Ctx> {
    let ctx: Ctx = swagger::make_context!(
        ContextBuilder,
        EmptyContext,
        Some(AuthData::Bearer(token.to_string())),
        XSpanIdString::default()
    );
    Client::try_new_http(&format!("http://{}", s.addr)).expect("client").with_context(ctx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_scenario() {
    let s = Server::start();
    s.add_user("alice", "pw");
    let c = client(&s, &s.token);

    match c.get_server_info().await.unwrap() {
        GetServerInfoResponse::SuccessfulOperation(i) => assert_eq!(i.site_name, "localhost"),
        other => panic!("{other:?}"),
    }
    let gid =
        match c.create_group(models::NewGroup { id: None, name: "Team".into(), create_muc: Some(true) }).await.unwrap()
        {
            CreateGroupResponse::SuccessfulOperation(g) => {
                assert!(matches!(g.muc_jid, Some(Nullable::Present(_))));
                g.id
            }
            other => panic!("{other:?}"),
        };
    assert_eq!(
        c.add_group_member(gid.clone(), "alice".into()).await.unwrap(),
        AddGroupMemberResponse::SuccessfulOperation
    );
    assert!(matches!(
        c.add_group_member(gid.clone(), "nobody".into()).await.unwrap(),
        AddGroupMemberResponse::GroupOrUserNotFound(_)
    ));
    match c.get_group_by_id(gid.clone()).await.unwrap() {
        GetGroupByIdResponse::SuccessfulOperation(g) => assert_eq!(g.members, ["alice"]),
        other => panic!("{other:?}"),
    }
    match c.list_groups(None, None).await.unwrap() {
        ListGroupsResponse::SuccessfulOperation { body: g, link } => assert_eq!((g.len(), link), (1, None)),
        other => panic!("{other:?}"),
    }
    match c.get_user_groups("alice".into()).await.unwrap() {
        GetUserGroupsResponse::ReturnsAnArrayOfGroupIDsThatTheUserBelongsTo(g) => {
            assert_eq!(g, std::slice::from_ref(&gid))
        }
        other => panic!("{other:?}"),
    }

    let mut up = models::User::new();
    up.display_name = Some(Nullable::Present("Alice".into()));
    up.roles = Some(vec!["custom:role".into()]);
    match c.update_user("alice".into(), up).await.unwrap() {
        UpdateUserResponse::SuccessfulOperation(u) => {
            assert_eq!(u.display_name, Some(Nullable::Present("Alice".into())))
        }
        other => panic!("{other:?}"),
    }
    match c.get_user_by_name("alice".into()).await.unwrap() {
        GetUserByNameResponse::SuccessfulOperation(u) => {
            // 13 also reports the primary role in effect (the default one here).
            let want: Vec<String> = if common::is_13() {
                vec!["custom:role".into(), "prosody:registered".into()]
            } else {
                vec!["custom:role".into()]
            };
            assert_eq!(u.roles, Some(want));
            assert_eq!(u.groups, Some(vec![gid.clone()]));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(c.get_user_by_name("a@b".into()).await.unwrap(), GetUserByNameResponse::BadRequest(_)));
    match c.get_user_debug_info("alice".into()).await.unwrap() {
        GetUserDebugInfoResponse::SuccessfulOperation(d) => assert!(d.sessions.is_empty()),
        other => panic!("{other:?}"),
    }

    let mut inv = models::NewAccountInvite::new();
    inv.groups = Some(Nullable::Present(vec![gid.clone()]));
    let id = match c.create_invite_for_account(Some(inv)).await.unwrap() {
        CreateInviteForAccountResponse::SuccessfulOperation(i) => i.id,
        other => panic!("{other:?}"),
    };
    let mut bad = models::NewAccountInvite::new();
    bad.groups = Some(Nullable::Present(vec!["nosuch".into()]));
    assert!(matches!(
        c.create_invite_for_account(Some(bad)).await.unwrap(),
        CreateInviteForAccountResponse::GroupNotFound(_)
    ));
    let mut gi = models::NewGroupInvite::new();
    gi.groups = Some(Nullable::Present(vec![gid.clone()]));
    assert!(
        matches!(c.create_invite_for_group(Some(gi)).await.unwrap(), CreateInviteForGroupResponse::SuccessfulOperation(i) if i.reusable)
    );
    assert!(matches!(c.get_invite_by_id(id.clone()).await.unwrap(), GetInviteByIdResponse::SuccessfulOperation(_)));
    match c.list_invites(None, None).await.unwrap() {
        ListInvitesResponse::SuccessfulOperation { body: l, .. } => assert_eq!(l.len(), 2),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.delete_invite(id.clone()).await.unwrap(), DeleteInviteResponse::SuccessfulOperation);
    assert!(matches!(c.delete_invite(id).await.unwrap(), DeleteInviteResponse::InviteNotFound(_)));

    assert_eq!(c.delete_group(gid.clone()).await.unwrap(), DeleteGroupResponse::GroupDeleted);
    assert!(matches!(c.delete_group(gid).await.unwrap(), DeleteGroupResponse::GroupNotFound(_)));
    assert_eq!(c.delete_user("alice".into()).await.unwrap(), DeleteUserResponse::SuccessfulOperation);
    assert!(matches!(c.delete_user("alice".into()).await.unwrap(), DeleteUserResponse::UserNotFound(_)));

    // Typed auth errors.
    let anon = client(&s, "garbage");
    match anon.list_users(None, None).await.unwrap() {
        ListUsersResponse::Unauthorized { body, www_authenticate } => {
            assert_eq!(body.error.code, 401);
            assert_eq!(www_authenticate.as_deref(), Some("Bearer realm=\"localhost/admin_api\""));
        }
        other => panic!("{other:?}"),
    }
    let bob_token = {
        s.add_user("bob", "pw");
        String::from_utf8(s.cli(&["token", "create", "--user", "bob", "--allow-non-admin"], None).stdout)
            .unwrap()
            .trim()
            .to_string()
    };
    assert!(matches!(client(&s, &bob_token).list_users(None, None).await.unwrap(), ListUsersResponse::Forbidden(_)));
}
