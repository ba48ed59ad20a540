//! The generated `Api` trait, implemented by [`Backend`]. Each method parses its
//! inputs, calls the domain, and maps the outcome onto the responses the spec
//! declares for that operation. Authentication already happened in the HTTP layer
//! (`src/http.rs`); the caller's name arrives as the context's `Authorization`.

use async_trait::async_trait;
use prosody_admin_api::models;
use prosody_admin_api::{
    AddGroupMemberResponse, Api, CreateGroupResponse, CreateInviteForAccountResetResponse,
    CreateInviteForAccountResponse, CreateInviteForGroupResponse, DeleteGroupMemberResponse,
    DeleteGroupResponse, DeleteInviteResponse, DeleteUserResponse, GetGroupByIdResponse,
    GetInviteByIdResponse, GetOpenApiJsonResponse, GetOpenApiYamlResponse, GetServerInfoResponse, GetUserByNameResponse, GetUserDebugInfoResponse,
    GetUserGroupsResponse, ListGroupsResponse, ListInvitesResponse, ListUsersResponse,
    UpdateUserResponse,
};
use swagger::auth::Authorization;
use swagger::{ApiError, Has};

use crate::error::{error_body, Failure};
use crate::invites::NewInvite;
use crate::username::Username;
use crate::users::Update;
use crate::Backend;

/// A declared non-success outcome.
enum Rejected {
    BadRequest(models::Error),
    NotFound(models::Error),
    Conflict(models::Error),
}

/// Splits a domain result into success, a declared rejection, or a real internal fault
/// (logged here with its cause, since the generated 500 drops the text).
fn outcome<T>(r: Result<T, Failure>) -> Result<Result<T, Rejected>, ApiError> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(Failure::BadRequest(t)) => Ok(Err(Rejected::BadRequest(error_body(400, t)))),
        Err(Failure::NotFound(t)) => Ok(Err(Rejected::NotFound(error_body(404, t)))),
        Err(Failure::Conflict(t)) => Ok(Err(Rejected::Conflict(error_body(409, t)))),
        Err(Failure::Internal(t)) => {
            log::error!("internal error: {t}");
            Err(ApiError(t))
        }
    }
}

/// The authenticated caller's username (the HTTP layer puts it there).
fn caller<C: Has<Option<Authorization>>>(context: &C) -> String {
    Has::<Option<Authorization>>::get(context).as_ref().map(|a| a.subject.clone()).unwrap_or_default()
}

#[async_trait]
impl<C> Api<C> for Backend
where
    C: Has<Option<Authorization>> + Send + Sync,
{
    async fn create_group(&self, new_group: models::NewGroup, _: &C) -> Result<CreateGroupResponse, ApiError> {
        let r = self.create_group(new_group.name, new_group.create_muc.unwrap_or(false)).await;
        Ok(match outcome(r)? {
            Ok(g) => CreateGroupResponse::SuccessfulOperation(g),
            Err(Rejected::BadRequest(e) | Rejected::NotFound(e) | Rejected::Conflict(e)) => CreateGroupResponse::BadRequest(e),
        })
    }

    async fn list_groups(&self, _: &C) -> Result<ListGroupsResponse, ApiError> {
        Ok(match outcome(self.list_groups().await)? {
            Ok(g) => ListGroupsResponse::SuccessfulOperation(g),
            Err(Rejected::BadRequest(e) | Rejected::NotFound(e) | Rejected::Conflict(e)) => return Err(ApiError(e.error.text)),
        })
    }

    async fn delete_group(&self, id: String, _: &C) -> Result<DeleteGroupResponse, ApiError> {
        Ok(match outcome(self.delete_group(id).await)? {
            Ok(()) => DeleteGroupResponse::GroupDeleted,
            Err(Rejected::BadRequest(e) | Rejected::NotFound(e) | Rejected::Conflict(e)) => DeleteGroupResponse::GroupNotFound(e),
        })
    }

    async fn get_group_by_id(&self, id: String, _: &C) -> Result<GetGroupByIdResponse, ApiError> {
        Ok(match outcome(self.get_group(id).await)? {
            Ok(g) => GetGroupByIdResponse::SuccessfulOperation(g),
            Err(Rejected::BadRequest(e) | Rejected::NotFound(e) | Rejected::Conflict(e)) => GetGroupByIdResponse::GroupNotFound(e),
        })
    }

    async fn add_group_member(&self, id: String, username: String, _: &C) -> Result<AddGroupMemberResponse, ApiError> {
        let r = match Username::parse(&username) {
            Ok(u) => self.add_group_member(id, u).await,
            Err(e) => Err(e),
        };
        Ok(match outcome(r)? {
            Ok(()) => AddGroupMemberResponse::SuccessfulOperation,
            Err(Rejected::BadRequest(e)) => AddGroupMemberResponse::BadRequest(e),
            Err(Rejected::NotFound(e)) => AddGroupMemberResponse::GroupOrUserNotFound(e),
            Err(Rejected::Conflict(e)) => AddGroupMemberResponse::BadRequest(e),
        })
    }

    async fn delete_group_member(&self, id: String, username: String, _: &C) -> Result<DeleteGroupMemberResponse, ApiError> {
        let r = match Username::parse(&username) {
            Ok(u) => self.remove_group_member(id, u).await,
            Err(e) => Err(e),
        };
        Ok(match outcome(r)? {
            Ok(()) => DeleteGroupMemberResponse::SuccessfulOperation,
            Err(Rejected::BadRequest(e)) => DeleteGroupMemberResponse::BadRequest(e),
            Err(Rejected::NotFound(e)) => DeleteGroupMemberResponse::GroupOrUserNotFound(e),
            Err(Rejected::Conflict(e)) => DeleteGroupMemberResponse::BadRequest(e),
        })
    }

    async fn create_invite_for_account(
        &self,
        body: Option<models::NewAccountInvite>,
        context: &C,
    ) -> Result<CreateInviteForAccountResponse, ApiError> {
        let r = match NewInvite::account(body) {
            Ok(req) => self.create_invite(req, &caller(context)).await,
            Err(e) => Err(e),
        };
        Ok(match outcome(r)? {
            Ok(i) => CreateInviteForAccountResponse::SuccessfulOperation(i),
            Err(Rejected::BadRequest(e)) => CreateInviteForAccountResponse::BadRequest(e),
            Err(Rejected::NotFound(e)) => CreateInviteForAccountResponse::GroupNotFound(e),
            Err(Rejected::Conflict(e)) => CreateInviteForAccountResponse::TheUsernameIsAlreadyRegistered(e),
        })
    }

    async fn create_invite_for_account_reset(
        &self,
        body: models::NewResetInvite,
        context: &C,
    ) -> Result<CreateInviteForAccountResetResponse, ApiError> {
        let r = match NewInvite::reset(body) {
            Ok(req) => self.create_invite(req, &caller(context)).await,
            Err(e) => Err(e),
        };
        Ok(match outcome(r)? {
            Ok(i) => CreateInviteForAccountResetResponse::SuccessfulOperation(i),
            Err(Rejected::BadRequest(e)) => CreateInviteForAccountResetResponse::BadRequest(e),
            Err(Rejected::NotFound(e)) => CreateInviteForAccountResetResponse::UserNotFound(e),
            Err(Rejected::Conflict(e)) => CreateInviteForAccountResetResponse::BadRequest(e),
        })
    }

    async fn create_invite_for_group(
        &self,
        body: Option<models::NewGroupInvite>,
        context: &C,
    ) -> Result<CreateInviteForGroupResponse, ApiError> {
        let r = match NewInvite::group(body) {
            Ok(req) => self.create_invite(req, &caller(context)).await,
            Err(e) => Err(e),
        };
        Ok(match outcome(r)? {
            Ok(i) => CreateInviteForGroupResponse::SuccessfulOperation(i),
            Err(Rejected::BadRequest(e)) => CreateInviteForGroupResponse::BadRequest(e),
            Err(Rejected::NotFound(e)) => CreateInviteForGroupResponse::GroupNotFound(e),
            Err(Rejected::Conflict(e)) => CreateInviteForGroupResponse::BadRequest(e),
        })
    }

    async fn list_invites(&self, _: &C) -> Result<ListInvitesResponse, ApiError> {
        Ok(match outcome(self.list_invites().await)? {
            Ok(i) => ListInvitesResponse::SuccessfulOperation(i),
            Err(Rejected::BadRequest(e) | Rejected::NotFound(e) | Rejected::Conflict(e)) => return Err(ApiError(e.error.text)),
        })
    }

    async fn delete_invite(&self, id: String, _: &C) -> Result<DeleteInviteResponse, ApiError> {
        Ok(match outcome(self.delete_invite(id).await)? {
            Ok(()) => DeleteInviteResponse::SuccessfulOperation,
            Err(Rejected::BadRequest(e) | Rejected::NotFound(e) | Rejected::Conflict(e)) => DeleteInviteResponse::InviteNotFound(e),
        })
    }

    async fn get_invite_by_id(&self, id: String, _: &C) -> Result<GetInviteByIdResponse, ApiError> {
        Ok(match outcome(self.get_invite(id).await)? {
            Ok(i) => GetInviteByIdResponse::SuccessfulOperation(i),
            Err(Rejected::BadRequest(e) | Rejected::NotFound(e) | Rejected::Conflict(e)) => GetInviteByIdResponse::InviteNotFound(e),
        })
    }

    async fn get_server_info(&self, _: &C) -> Result<GetServerInfoResponse, ApiError> {
        let s = self.settings();
        Ok(GetServerInfoResponse::SuccessfulOperation(models::ServerInfo::new(s.site_name.clone(), s.version.clone())))
    }

    async fn get_open_api_yaml(&self, _: &C) -> Result<GetOpenApiYamlResponse, ApiError> {
        Ok(GetOpenApiYamlResponse::TheOpenAPIDocument(crate::contract::SPEC_YAML.to_string()))
    }

    async fn get_open_api_json(&self, _: &C) -> Result<GetOpenApiJsonResponse, ApiError> {
        match crate::contract::spec_json() {
            Ok(j) => Ok(GetOpenApiJsonResponse::TheOpenAPIDocument(j.clone())),
            Err(e) => {
                log::error!("internal error: {e}");
                Err(ApiError(e))
            }
        }
    }

    async fn list_users(&self, _: &C) -> Result<ListUsersResponse, ApiError> {
        Ok(match outcome(self.list_users().await)? {
            Ok(u) => ListUsersResponse::SuccessfulOperation(u),
            Err(Rejected::BadRequest(e) | Rejected::NotFound(e) | Rejected::Conflict(e)) => return Err(ApiError(e.error.text)),
        })
    }

    async fn delete_user(&self, username: String, context: &C) -> Result<DeleteUserResponse, ApiError> {
        let r = match Username::parse(&username) {
            Ok(u) => self.delete_user(u, &caller(context)).await,
            Err(e) => Err(e),
        };
        Ok(match outcome(r)? {
            Ok(()) => DeleteUserResponse::SuccessfulOperation,
            Err(Rejected::BadRequest(e)) => DeleteUserResponse::BadRequest(e),
            Err(Rejected::NotFound(e)) => DeleteUserResponse::UserNotFound(e),
            Err(Rejected::Conflict(e)) => DeleteUserResponse::CannotDeleteTheAccountOfTheTokenInUse(e),
        })
    }

    async fn get_user_by_name(&self, username: String, _: &C) -> Result<GetUserByNameResponse, ApiError> {
        let r = match Username::parse(&username) {
            Ok(u) => self.get_user(u).await,
            Err(e) => Err(e),
        };
        Ok(match outcome(r)? {
            Ok(u) => GetUserByNameResponse::SuccessfulOperation(u),
            Err(Rejected::BadRequest(e)) => GetUserByNameResponse::BadRequest(e),
            Err(Rejected::NotFound(e)) => GetUserByNameResponse::UserNotFound(e),
            Err(Rejected::Conflict(e)) => GetUserByNameResponse::BadRequest(e),
        })
    }

    async fn get_user_debug_info(&self, username: String, _: &C) -> Result<GetUserDebugInfoResponse, ApiError> {
        let r = match Username::parse(&username) {
            Ok(u) => self.user_debug(u).await,
            Err(e) => Err(e),
        };
        Ok(match outcome(r)? {
            Ok(d) => GetUserDebugInfoResponse::SuccessfulOperation(d),
            Err(Rejected::BadRequest(e)) => GetUserDebugInfoResponse::BadRequest(e),
            Err(Rejected::NotFound(e)) => GetUserDebugInfoResponse::UserNotFound(e),
            Err(Rejected::Conflict(e)) => GetUserDebugInfoResponse::BadRequest(e),
        })
    }

    async fn get_user_groups(&self, username: String, _: &C) -> Result<GetUserGroupsResponse, ApiError> {
        let r = match Username::parse(&username) {
            Ok(u) => self.user_groups(u).await,
            Err(e) => Err(e),
        };
        Ok(match outcome(r)? {
            Ok(g) => GetUserGroupsResponse::ReturnsAnArrayOfGroupIDsThatTheUserBelongsTo(g),
            Err(Rejected::BadRequest(e)) => GetUserGroupsResponse::BadRequest(e),
            Err(Rejected::NotFound(e)) => GetUserGroupsResponse::UserNotFound(e),
            Err(Rejected::Conflict(e)) => GetUserGroupsResponse::BadRequest(e),
        })
    }

    async fn update_user(&self, username: String, body: models::User, context: &C) -> Result<UpdateUserResponse, ApiError> {
        let r = match Username::parse(&username).and_then(|u| Update::from_body(&u, body).map(|up| (u, up))) {
            Ok((u, up)) => self.update_user(u, up, &caller(context)).await,
            Err(e) => Err(e),
        };
        Ok(match outcome(r)? {
            Ok(u) => UpdateUserResponse::SuccessfulOperation(u),
            Err(Rejected::BadRequest(e)) => UpdateUserResponse::BadRequest(e),
            Err(Rejected::NotFound(e)) => UpdateUserResponse::UserNotFound(e),
            Err(Rejected::Conflict(e)) => UpdateUserResponse::CannotTakeTheAdminRoleFromTheAccountOfTheTokenInUse(e),
        })
    }
}
