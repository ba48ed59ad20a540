//! The generated `Api` trait, implemented by [`Backend`]. Each method parses its
//! inputs, calls the domain, and maps the outcome onto the responses the spec
//! declares for that operation. Authentication already happened in the HTTP layer
//! (`src/http.rs`); the caller's name arrives as the context's `Authorization`.
//!
//! The mapping is total and honest: a rejection becomes the operation's response for
//! exactly that status, with a body whose `code` is that status; a rejection the
//! operation does not declare (a domain outcome the spec says cannot happen) is a bug,
//! logged and answered 500, never relabelled as another 4xx.

use async_trait::async_trait;
use prosody_admin_api::models;
use prosody_admin_api::{
    AddGroupMemberResponse, Api, CreateConsoleSessionResponse, CreateGroupChatResponse, CreateGroupResponse,
    CreateInviteForAccountResetResponse, CreateInviteForAccountResponse, CreateInviteForGroupResponse,
    DeleteGroupChatResponse, DeleteGroupMemberResponse, DeleteGroupResponse, DeleteInviteResponse, DeleteUserResponse,
    EndConsoleSessionResponse, EndUserSessionsResponse, GetConsolePageResponse, GetConsoleScriptResponse,
    GetConsoleStyleResponse, GetDocsPageResponse, GetDocsScriptResponse, GetDocsStyleResponse, GetGroupByIdResponse,
    GetHealthResponse, GetInviteByIdResponse, GetOpenApiJsonResponse, GetOpenApiYamlResponse, GetReadinessResponse,
    GetServerInfoResponse, GetServerMetricsResponse, GetServiceMetricsResponse, GetUserByNameResponse,
    GetUserDebugInfoResponse, GetUserGroupsResponse, ListAuditEntriesResponse, ListGroupsResponse, ListInvitesResponse,
    ListUsersResponse, PatchUserResponse, PostServerAnnouncementResponse, UpdateGroupResponse, UpdateUserResponse,
};
use swagger::auth::Authorization;
use swagger::{ApiError, Has};

use crate::error::{app_error_body, error_body, Failure};
use crate::invites::NewInvite;
use crate::paging::Page;
use crate::username::Username;
use crate::users::Update;
use crate::Backend;

/// A declared non-success status.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Status {
    BadRequest,
    NotFound,
    Conflict,
}

impl Status {
    fn code(self) -> u16 {
        match self {
            Status::BadRequest => 400,
            Status::NotFound => 404,
            Status::Conflict => 409,
        }
    }
}

/// A page of a listing (from the query parameters) and its `Link` header.
async fn page_of<T, Fut>(
    limit: Option<u64>,
    after: Option<String>,
    resource: &str,
    list: impl FnOnce(Page) -> Fut,
) -> Result<(Vec<T>, Option<String>), Failure>
where
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), Failure>>,
{
    let page = Page::parse(limit, after.as_deref())?;
    let (body, next) = list(page.clone()).await?;
    Ok((body, page.link_to(resource, next)))
}

fn internal(op: &str, text: String) -> ApiError {
    log::error!("{op}: internal error: {text}");
    ApiError(text)
}

/// Maps a domain result onto an operation's responses: `ok` for success; `declared`
/// for a rejection, given its status and a body with that code, returning the
/// operation's response for that status or None if the operation has none (then: a
/// logged 500). Internal failures are logged 500s with their cause (the generated 500
/// drops the text).
fn respond<T, R>(
    op: &str,
    r: Result<T, Failure>,
    ok: impl FnOnce(T) -> R,
    declared: impl FnOnce(Status, models::Error) -> Option<R>,
) -> Result<R, ApiError> {
    let (status, body, text) = match r {
        Ok(v) => return Ok(ok(v)),
        Err(Failure::BadRequest(t)) => (Status::BadRequest, error_body(400, t.clone()), t),
        Err(Failure::NotFound(t)) => (Status::NotFound, error_body(404, t.clone()), t),
        Err(Failure::Conflict(t)) => (Status::Conflict, error_body(409, t.clone()), t),
        Err(Failure::App(app, t)) => {
            let status = match app.status() {
                400 => Status::BadRequest,
                404 => Status::NotFound,
                409 => Status::Conflict,
                other => return Err(internal(op, format!("application condition with status {other}: {t}"))),
            };
            (status, app_error_body(app, t.clone()), t)
        }
        Err(Failure::Internal(t)) => return Err(internal(op, t)),
    };
    declared(status, body).ok_or_else(|| internal(op, format!("undeclared outcome {} ({text})", status.code())))
}

/// The authenticated caller's username, which the HTTP layer puts in the context. Its
/// absence is a bug in that layer, not an anonymous caller.
fn caller<C: Has<Option<Authorization>>>(context: &C) -> Result<String, Failure> {
    Has::<Option<Authorization>>::get(context)
        .as_ref()
        .map(|a| a.subject.clone())
        .ok_or_else(|| Failure::Internal("no authenticated caller in the request context".into()))
}

fn console_off() -> models::Error {
    error_body(404, "the console is switched off on this server (setting `console`)")
}

/// A username from a path: a name that cannot exist is 404 (see [`Username::lookup`]).
fn username(raw: &str) -> Result<Username, Failure> {
    Username::lookup(raw)
}

#[async_trait]
impl<C> Api<C> for Backend
where
    C: Has<Option<Authorization>> + Has<Option<crate::auth::Presented>> + Send + Sync,
{
    async fn create_group(&self, new_group: models::NewGroup, _: &C) -> Result<CreateGroupResponse, ApiError> {
        let r = self.create_group_with_id(new_group.id, new_group.name, new_group.create_muc.unwrap_or(false)).await;
        respond("createGroup", r, CreateGroupResponse::SuccessfulOperation, |s, e| match s {
            Status::BadRequest => Some(CreateGroupResponse::BadRequest(e)),
            Status::Conflict => Some(CreateGroupResponse::TheChosenIdIsInUse(e)),
            _ => None,
        })
    }

    async fn update_group(
        &self,
        id: String,
        body: models::GroupUpdate,
        _: &C,
    ) -> Result<UpdateGroupResponse, ApiError> {
        respond(
            "updateGroup",
            self.rename_group(id, body.name).await,
            |()| UpdateGroupResponse::GroupRenamed,
            |s, e| match s {
                Status::BadRequest => Some(UpdateGroupResponse::BadRequest(e)),
                Status::NotFound => Some(UpdateGroupResponse::GroupNotFound(e)),
                Status::Conflict => None,
            },
        )
    }

    async fn create_group_chat(
        &self,
        id: String,
        body: models::NewGroupChat,
        _: &C,
    ) -> Result<CreateGroupChatResponse, ApiError> {
        respond(
            "createGroupChat",
            self.add_group_chat(id, body.name).await,
            CreateGroupChatResponse::TheNewGroupChat,
            |s, e| match s {
                Status::BadRequest => Some(CreateGroupChatResponse::BadRequest(e)),
                Status::NotFound => Some(CreateGroupChatResponse::GroupNotFound(e)),
                Status::Conflict => None,
            },
        )
    }

    async fn delete_group_chat(&self, id: String, chat_id: String, _: &C) -> Result<DeleteGroupChatResponse, ApiError> {
        let r = self.remove_group_chat(id, chat_id).await;
        respond(
            "deleteGroupChat",
            r,
            |()| DeleteGroupChatResponse::GroupChatRemoved,
            |s, e| match s {
                Status::NotFound => Some(DeleteGroupChatResponse::GroupOrChatNotFound(e)),
                _ => None,
            },
        )
    }

    async fn list_groups(
        &self,
        limit: Option<u64>,
        after: Option<String>,
        _: &C,
    ) -> Result<ListGroupsResponse, ApiError> {
        let r = page_of(limit, after, "/groups", |p| self.list_groups(p)).await;
        respond(
            "listGroups",
            r,
            |(body, link)| ListGroupsResponse::SuccessfulOperation { body, link },
            |s, e| match s {
                Status::BadRequest => Some(ListGroupsResponse::BadRequest(e)),
                _ => None,
            },
        )
    }

    async fn delete_group(&self, id: String, _: &C) -> Result<DeleteGroupResponse, ApiError> {
        respond(
            "deleteGroup",
            self.delete_group(id).await,
            |()| DeleteGroupResponse::GroupDeleted,
            |s, e| match s {
                Status::NotFound => Some(DeleteGroupResponse::GroupNotFound(e)),
                _ => None,
            },
        )
    }

    async fn get_group_by_id(&self, id: String, _: &C) -> Result<GetGroupByIdResponse, ApiError> {
        respond("getGroupById", self.get_group(id).await, GetGroupByIdResponse::SuccessfulOperation, |s, e| match s {
            Status::NotFound => Some(GetGroupByIdResponse::GroupNotFound(e)),
            _ => None,
        })
    }

    async fn add_group_member(&self, id: String, username: String, _: &C) -> Result<AddGroupMemberResponse, ApiError> {
        let r = match self::username(&username) {
            Ok(u) => self.add_group_member(id, u).await,
            Err(e) => Err(e),
        };
        respond(
            "addGroupMember",
            r,
            |()| AddGroupMemberResponse::SuccessfulOperation,
            |s, e| match s {
                Status::BadRequest => Some(AddGroupMemberResponse::BadRequest(e)),
                Status::NotFound => Some(AddGroupMemberResponse::GroupOrUserNotFound(e)),
                Status::Conflict => None,
            },
        )
    }

    async fn delete_group_member(
        &self,
        id: String,
        username: String,
        _: &C,
    ) -> Result<DeleteGroupMemberResponse, ApiError> {
        let r = match self::username(&username) {
            Ok(u) => self.remove_group_member(id, u).await,
            Err(e) => Err(e),
        };
        respond(
            "deleteGroupMember",
            r,
            |()| DeleteGroupMemberResponse::SuccessfulOperation,
            |s, e| match s {
                Status::BadRequest => Some(DeleteGroupMemberResponse::BadRequest(e)),
                Status::NotFound => Some(DeleteGroupMemberResponse::GroupOrUserNotFound(e)),
                Status::Conflict => None,
            },
        )
    }

    async fn create_invite_for_account(
        &self,
        body: Option<models::NewAccountInvite>,
        context: &C,
    ) -> Result<CreateInviteForAccountResponse, ApiError> {
        let r = match (NewInvite::account(body), caller(context)) {
            (Ok(req), Ok(who)) => self.create_invite(req, &who).await,
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        respond("createInviteForAccount", r, CreateInviteForAccountResponse::SuccessfulOperation, |s, e| match s {
            Status::BadRequest => Some(CreateInviteForAccountResponse::BadRequest(e)),
            Status::NotFound => Some(CreateInviteForAccountResponse::GroupNotFound(e)),
            Status::Conflict => Some(CreateInviteForAccountResponse::TheUsernameIsAlreadyRegistered(e)),
        })
    }

    async fn create_invite_for_account_reset(
        &self,
        body: models::NewResetInvite,
        context: &C,
    ) -> Result<CreateInviteForAccountResetResponse, ApiError> {
        let r = match (NewInvite::reset(body), caller(context)) {
            (Ok(req), Ok(who)) => self.create_invite(req, &who).await,
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        respond("createInviteForAccountReset", r, CreateInviteForAccountResetResponse::SuccessfulOperation, |s, e| {
            match s {
                Status::BadRequest => Some(CreateInviteForAccountResetResponse::BadRequest(e)),
                Status::NotFound => Some(CreateInviteForAccountResetResponse::UserNotFound(e)),
                Status::Conflict => None,
            }
        })
    }

    async fn create_invite_for_group(
        &self,
        body: Option<models::NewGroupInvite>,
        context: &C,
    ) -> Result<CreateInviteForGroupResponse, ApiError> {
        let r = match (NewInvite::group(body), caller(context)) {
            (Ok(req), Ok(who)) => self.create_invite(req, &who).await,
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        respond("createInviteForGroup", r, CreateInviteForGroupResponse::SuccessfulOperation, |s, e| match s {
            Status::BadRequest => Some(CreateInviteForGroupResponse::BadRequest(e)),
            Status::NotFound => Some(CreateInviteForGroupResponse::GroupNotFound(e)),
            Status::Conflict => Some(CreateInviteForGroupResponse::TheChosenGroupId(e)),
        })
    }

    async fn list_invites(
        &self,
        limit: Option<u64>,
        after: Option<String>,
        _: &C,
    ) -> Result<ListInvitesResponse, ApiError> {
        let r = page_of(limit, after, "/invites", |p| self.list_invites(p)).await;
        respond(
            "listInvites",
            r,
            |(body, link)| ListInvitesResponse::SuccessfulOperation { body, link },
            |s, e| match s {
                Status::BadRequest => Some(ListInvitesResponse::BadRequest(e)),
                _ => None,
            },
        )
    }

    async fn delete_invite(&self, id: String, _: &C) -> Result<DeleteInviteResponse, ApiError> {
        respond(
            "deleteInvite",
            self.delete_invite(id).await,
            |()| DeleteInviteResponse::SuccessfulOperation,
            |s, e| match s {
                Status::NotFound => Some(DeleteInviteResponse::InviteNotFound(e)),
                _ => None,
            },
        )
    }

    async fn get_invite_by_id(&self, id: String, _: &C) -> Result<GetInviteByIdResponse, ApiError> {
        respond(
            "getInviteById",
            self.get_invite(id).await,
            GetInviteByIdResponse::SuccessfulOperation,
            |s, e| match s {
                Status::NotFound => Some(GetInviteByIdResponse::InviteNotFound(e)),
                _ => None,
            },
        )
    }

    async fn get_server_info(&self, _: &C) -> Result<GetServerInfoResponse, ApiError> {
        let s = self.settings();
        let mut info = models::ServerInfo::new(s.site_name.clone(), s.version.clone());
        info.live_path = Some(match self.live() {
            Some(live) => {
                let st = live.status().await;
                let mut l = models::LivePath::new(true, st.up);
                l.checked_at = st.checked_at;
                l.error = st.error;
                l
            }
            None => models::LivePath::new(false, false),
        });
        Ok(GetServerInfoResponse::SuccessfulOperation(info))
    }

    async fn list_audit_entries(
        &self,
        limit: Option<u64>,
        before: Option<String>,
        actor: Option<String>,
        operation: Option<String>,
        since: Option<u64>,
        until: Option<u64>,
        _: &C,
    ) -> Result<ListAuditEntriesResponse, ApiError> {
        // The spec's int64: beyond it is a bad request, not a clamp.
        let time = |name: &str, t: Option<u64>| -> Result<Option<i64>, Failure> {
            t.map(|t| i64::try_from(t).map_err(|_| Failure::BadRequest(format!("{name} is out of range")))).transpose()
        };
        let page = match (time("since", since), time("until", until)) {
            (Ok(since), Ok(until)) => {
                self.audit_page(limit, before, crate::audit::Filter { actor, operation, since, until }).await
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        respond("listAuditEntries", page, ListAuditEntriesResponse::SuccessfulOperation, |s, e| match s {
            Status::BadRequest => Some(ListAuditEntriesResponse::BadRequest(e)),
            _ => None,
        })
    }

    async fn get_console_page(&self, _: &C) -> Result<GetConsolePageResponse, ApiError> {
        Ok(match self.settings().console {
            true => {
                let s = self.settings();
                GetConsolePageResponse::ThePage(crate::console::page(&s.host, &s.served_hosts))
            }
            false => GetConsolePageResponse::TheConsoleIsSwitchedOff(console_off()),
        })
    }

    async fn get_console_script(&self, _: &C) -> Result<GetConsoleScriptResponse, ApiError> {
        Ok(match self.settings().console {
            true => GetConsoleScriptResponse::TheScript(crate::console::SCRIPT.to_string()),
            false => GetConsoleScriptResponse::TheConsoleIsSwitchedOff(console_off()),
        })
    }

    async fn get_console_style(&self, _: &C) -> Result<GetConsoleStyleResponse, ApiError> {
        Ok(match self.settings().console {
            true => GetConsoleStyleResponse::TheStyleSheet(crate::console::STYLE.to_string()),
            false => GetConsoleStyleResponse::TheConsoleIsSwitchedOff(console_off()),
        })
    }

    async fn create_console_session(
        &self,
        sign_in: models::ConsoleSignIn,
        _: &C,
    ) -> Result<CreateConsoleSessionResponse, ApiError> {
        use crate::console::SignIn;
        let r = self.console_sign_in(&sign_in.username, sign_in.password).await;
        let ok = |s: SignIn| match s {
            SignIn::Signed { token, jid, role, expires } => {
                CreateConsoleSessionResponse::SignedIn(models::ConsoleSession::new(token, jid, role, expires))
            }
            SignIn::Wrong => {
                CreateConsoleSessionResponse::WrongUsernameOrPassword(error_body(401, "wrong username or password"))
            }
            SignIn::NotAdmin(why) => {
                CreateConsoleSessionResponse::TheAccountMayNotAdministerThisHost(error_body(403, why))
            }
            SignIn::Off => CreateConsoleSessionResponse::TheConsoleIsSwitchedOff(console_off()),
        };
        respond("createConsoleSession", r, ok, |s, e| match s {
            Status::BadRequest => Some(CreateConsoleSessionResponse::BadRequest(e)),
            _ => None,
        })
    }

    async fn end_console_session(&self, context: &C) -> Result<EndConsoleSessionResponse, ApiError> {
        let presented = Has::<Option<crate::auth::Presented>>::get(context).clone();
        let r = match presented {
            Some(t) => self.revoke_token_async(&t.0).await,
            None => Err(Failure::Internal("no presented token in the request context".into())),
        };
        // A token that authenticated this request and is gone already was revoked by
        // another request meanwhile: signed out all the same.
        respond("endConsoleSession", r, |_| EndConsoleSessionResponse::TheTokenIsRevoked, |_, _| None)
    }

    async fn get_docs_page(&self, _: &C) -> Result<GetDocsPageResponse, ApiError> {
        let s = self.settings();
        Ok(GetDocsPageResponse::ThePage(crate::docs::page(&s.host, &s.served_hosts)))
    }

    async fn get_docs_style(&self, _: &C) -> Result<GetDocsStyleResponse, ApiError> {
        Ok(GetDocsStyleResponse::TheStyleSheet(crate::docs::STYLE.to_string()))
    }

    async fn get_docs_script(&self, _: &C) -> Result<GetDocsScriptResponse, ApiError> {
        Ok(GetDocsScriptResponse::TheScript(crate::docs::SCRIPT.to_string()))
    }

    async fn get_service_metrics(&self, _: &C) -> Result<GetServiceMetricsResponse, ApiError> {
        Ok(GetServiceMetricsResponse::TheMetrics(self.render_metrics()))
    }

    async fn get_health(&self, _: &C) -> Result<GetHealthResponse, ApiError> {
        Ok(GetHealthResponse::Alive(models::Health { status: models::HealthStatus::Ok }))
    }

    async fn get_readiness(&self, _: &C) -> Result<GetReadinessResponse, ApiError> {
        Ok(match self.store().probe().await {
            Ok(()) => GetReadinessResponse::Ready(models::Health { status: models::HealthStatus::Ok }),
            Err(e) => {
                log::warn!("not ready: {e}");
                GetReadinessResponse::NotReady(error_body(503, format!("database not readable: {e}")))
            }
        })
    }

    async fn get_server_metrics(&self, _: &C) -> Result<GetServerMetricsResponse, ApiError> {
        respond(
            "getServerMetrics",
            self.server_metrics().await,
            GetServerMetricsResponse::SuccessfulOperation,
            |_, _| None,
        )
    }

    async fn post_server_announcement(
        &self,
        body: models::Announcement,
        _: &C,
    ) -> Result<PostServerAnnouncementResponse, ApiError> {
        let r = match crate::server::Announcement::from_body(body) {
            Ok(a) => self.announce(a).await,
            Err(e) => Err(e),
        };
        respond("postServerAnnouncement", r, PostServerAnnouncementResponse::AnnouncementSent, |s, e| match s {
            Status::BadRequest => Some(PostServerAnnouncementResponse::BadRequest(e)),
            Status::Conflict => Some(PostServerAnnouncementResponse::NoLivePathToProsodyForOnlineUsers(e)),
            Status::NotFound => Some(PostServerAnnouncementResponse::UserNotFound(e)),
        })
    }

    async fn get_open_api_yaml(&self, _: &C) -> Result<GetOpenApiYamlResponse, ApiError> {
        Ok(GetOpenApiYamlResponse::TheOpenAPIDocument(crate::contract::SPEC_YAML.to_string()))
    }

    async fn get_open_api_json(&self, _: &C) -> Result<GetOpenApiJsonResponse, ApiError> {
        match crate::contract::spec_json() {
            Ok(j) => Ok(GetOpenApiJsonResponse::TheOpenAPIDocument(j.clone())),
            Err(e) => Err(internal("getOpenApiJson", e)),
        }
    }

    async fn list_users(
        &self,
        limit: Option<u64>,
        after: Option<String>,
        _: &C,
    ) -> Result<ListUsersResponse, ApiError> {
        let r = page_of(limit, after, "/users", |p| self.list_users(p)).await;
        respond(
            "listUsers",
            r,
            |(body, link)| ListUsersResponse::SuccessfulOperation { body, link },
            |s, e| match s {
                Status::BadRequest => Some(ListUsersResponse::BadRequest(e)),
                _ => None,
            },
        )
    }

    async fn delete_user(&self, username: String, context: &C) -> Result<DeleteUserResponse, ApiError> {
        let r = match (self::username(&username), caller(context)) {
            (Ok(u), Ok(who)) => self.delete_user(u, &who).await,
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        respond(
            "deleteUser",
            r,
            |()| DeleteUserResponse::SuccessfulOperation,
            |s, e| match s {
                Status::BadRequest => Some(DeleteUserResponse::BadRequest(e)),
                Status::NotFound => Some(DeleteUserResponse::UserNotFound(e)),
                Status::Conflict => Some(DeleteUserResponse::CannotDeleteTheAccountOfTheTokenInUse(e)),
            },
        )
    }

    async fn get_user_by_name(&self, username: String, _: &C) -> Result<GetUserByNameResponse, ApiError> {
        let r = match self::username(&username) {
            Ok(u) => self.get_user(u).await,
            Err(e) => Err(e),
        };
        respond("getUserByName", r, GetUserByNameResponse::SuccessfulOperation, |s, e| match s {
            Status::BadRequest => Some(GetUserByNameResponse::BadRequest(e)),
            Status::NotFound => Some(GetUserByNameResponse::UserNotFound(e)),
            Status::Conflict => None,
        })
    }

    async fn get_user_debug_info(&self, username: String, _: &C) -> Result<GetUserDebugInfoResponse, ApiError> {
        let r = match self::username(&username) {
            Ok(u) => self.user_debug(u).await,
            Err(e) => Err(e),
        };
        respond("getUserDebugInfo", r, GetUserDebugInfoResponse::SuccessfulOperation, |s, e| match s {
            Status::BadRequest => Some(GetUserDebugInfoResponse::BadRequest(e)),
            Status::NotFound => Some(GetUserDebugInfoResponse::UserNotFound(e)),
            Status::Conflict => None,
        })
    }

    async fn end_user_sessions(
        &self,
        username: String,
        resource: Option<String>,
        _: &C,
    ) -> Result<EndUserSessionsResponse, ApiError> {
        let r = match self::username(&username) {
            Ok(u) => self.end_sessions(u, resource).await,
            Err(e) => Err(e),
        };
        let ok = |outcome: Result<i64, String>| match outcome {
            Ok(n) => EndUserSessionsResponse::TheSessionsEnded(models::EndedSessions::new(n)),
            Err(why) => EndUserSessionsResponse::TheLivePathIsNotConfigured(error_body(503, why)),
        };
        respond("endUserSessions", r, ok, |s, e| match s {
            Status::BadRequest => Some(EndUserSessionsResponse::BadRequest(e)),
            Status::NotFound => Some(EndUserSessionsResponse::UserNotFound(e)),
            Status::Conflict => None,
        })
    }

    async fn get_user_groups(&self, username: String, _: &C) -> Result<GetUserGroupsResponse, ApiError> {
        let r = match self::username(&username) {
            Ok(u) => self.user_groups(u).await,
            Err(e) => Err(e),
        };
        respond("getUserGroups", r, GetUserGroupsResponse::ReturnsAnArrayOfGroupIDsThatTheUserBelongsTo, |s, e| match s
        {
            Status::BadRequest => Some(GetUserGroupsResponse::BadRequest(e)),
            Status::NotFound => Some(GetUserGroupsResponse::UserNotFound(e)),
            Status::Conflict => None,
        })
    }

    async fn patch_user(
        &self,
        username: String,
        body: models::UserPatch,
        context: &C,
    ) -> Result<PatchUserResponse, ApiError> {
        let r = match (self::username(&username), caller(context)) {
            (Ok(u), Ok(who)) => self.update_user(u, Update::enabled(body.enabled), &who).await,
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        respond("patchUser", r, PatchUserResponse::SuccessfulOperation, |s, e| match s {
            Status::BadRequest => Some(PatchUserResponse::BadRequest(e)),
            Status::NotFound => Some(PatchUserResponse::UserNotFound(e)),
            Status::Conflict => Some(PatchUserResponse::WouldLockTheCallerOrTheLastAdminOut(e)),
        })
    }

    async fn update_user(
        &self,
        username: String,
        body: models::User,
        context: &C,
    ) -> Result<UpdateUserResponse, ApiError> {
        let parsed = self::username(&username).and_then(|u| Update::from_body(&u, body).map(|up| (u, up)));
        let r = match (parsed, caller(context)) {
            (Ok((u, up)), Ok(who)) => self.update_user(u, up, &who).await,
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        respond("updateUser", r, UpdateUserResponse::SuccessfulOperation, |s, e| match s {
            Status::BadRequest => Some(UpdateUserResponse::BadRequest(e)),
            Status::NotFound => Some(UpdateUserResponse::UserNotFound(e)),
            Status::Conflict => Some(UpdateUserResponse::CannotTakeTheAdminRoleFromTheAccountOfTheTokenInUse(e)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undeclared_outcomes_are_500_not_relabelled() {
        let r: Result<(), Failure> = Err(Failure::NotFound("nope".into()));
        let out = respond(
            "createGroup",
            r,
            |()| CreateGroupResponse::BadRequest(error_body(400, "")),
            |s, e| match s {
                Status::BadRequest => Some(CreateGroupResponse::BadRequest(e)),
                _ => None,
            },
        );
        assert!(out.is_err(), "a 404 must not become the operation's 400");
        let r: Result<(), Failure> = Err(Failure::BadRequest("bad".into()));
        match respond(
            "createGroup",
            r,
            |()| unreachable!(),
            |s, e| match s {
                Status::BadRequest => Some(CreateGroupResponse::BadRequest(e)),
                _ => None,
            },
        ) {
            Ok(CreateGroupResponse::BadRequest(e)) => assert_eq!(e.error.code, 400),
            other => panic!("{other:?}"),
        }
    }
}
