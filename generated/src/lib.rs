#![allow(missing_docs, trivial_casts, unused_variables, unused_mut, unused_imports, unused_extern_crates, unused_attributes, non_camel_case_types)]
#![allow(clippy::derive_partial_eq_without_eq, clippy::disallowed_names)]

use async_trait::async_trait;
use futures::Stream;
#[cfg(feature = "mock")]
use mockall::automock;
use std::error::Error;
use std::collections::BTreeSet;
use std::task::{Poll, Context};
use swagger::{ApiError, ContextWrapper, auth::Authorization};
use serde::{Serialize, Deserialize};

#[cfg(any(feature = "client", feature = "server"))]
type ServiceError = Box<dyn Error + Send + Sync + 'static>;

pub const BASE_PATH: &str = "/admin_api";
pub const API_VERSION: &str = "1.0.0";

mod auth;
pub use auth::{AuthenticationApi, Claims};


#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum ListAuditEntriesResponse {
    /// successful operation
    SuccessfulOperation
    (models::AuditPage)
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum CreateConsoleSessionResponse {
    /// Signed in
    SignedIn
    (models::ConsoleSession)
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Wrong username or password
    WrongUsernameOrPassword
    (models::Error)
    ,
    /// The account may not administer this host
    TheAccountMayNotAdministerThisHost
    (models::Error)
    ,
    /// The console is switched off
    TheConsoleIsSwitchedOff
    (models::Error)
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum EndConsoleSessionResponse {
    /// The token is revoked
    TheTokenIsRevoked
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum GetConsolePageResponse {
    /// The page
    ThePage
    (String)
    ,
    /// The console is switched off (`console = false`)
    TheConsoleIsSwitchedOff
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum GetConsoleScriptResponse {
    /// The script
    TheScript
    (String)
    ,
    /// The console is switched off
    TheConsoleIsSwitchedOff
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum GetConsoleStyleResponse {
    /// The style sheet
    TheStyleSheet
    (String)
    ,
    /// The console is switched off
    TheConsoleIsSwitchedOff
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum CreateGroupResponse {
    /// successful operation
    SuccessfulOperation
    (models::Group)
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// The request body did not arrive within the configured time (`body_timeout`); the connection is closed.
    TheRequestBodyDidNotArriveWithinTheConfiguredTime
    (models::Error)
    ,
    /// The chosen id is in use
    TheChosenIdIsInUse
    (models::Error)
    ,
    /// Payload too large
    PayloadTooLarge
    (models::Error)
    ,
    /// The request body is not `application/json` (parameters such as `charset` are accepted).
    TheRequestBodyIsNot
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum ListGroupsResponse {
    /// successful operation
    SuccessfulOperation
    {
        body: Vec<models::Group>,
        link:
        Option<
        String
        >
    }
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum CreateGroupChatResponse {
    /// The new group chat
    TheNewGroupChat
    (models::GroupChat)
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// Group not found
    GroupNotFound
    (models::Error)
    ,
    /// The request body did not arrive within the configured time (`body_timeout`); the connection is closed.
    TheRequestBodyDidNotArriveWithinTheConfiguredTime
    (models::Error)
    ,
    /// Payload too large
    PayloadTooLarge
    (models::Error)
    ,
    /// The request body is not `application/json` (parameters such as `charset` are accepted).
    TheRequestBodyIsNot
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum DeleteGroupResponse {
    /// Group deleted
    GroupDeleted
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// Group not found
    GroupNotFound
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum GetGroupByIdResponse {
    /// successful operation
    SuccessfulOperation
    (models::Group)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// Group not found
    GroupNotFound
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum UpdateGroupResponse {
    /// Group renamed
    GroupRenamed
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// Group not found
    GroupNotFound
    (models::Error)
    ,
    /// The request body did not arrive within the configured time (`body_timeout`); the connection is closed.
    TheRequestBodyDidNotArriveWithinTheConfiguredTime
    (models::Error)
    ,
    /// Payload too large
    PayloadTooLarge
    (models::Error)
    ,
    /// The request body is not `application/json` (parameters such as `charset` are accepted).
    TheRequestBodyIsNot
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum AddGroupMemberResponse {
    /// successful operation
    SuccessfulOperation
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// Group or user not found
    GroupOrUserNotFound
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum DeleteGroupChatResponse {
    /// Group chat removed
    GroupChatRemoved
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// Group or chat not found
    GroupOrChatNotFound
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum DeleteGroupMemberResponse {
    /// successful operation
    SuccessfulOperation
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// Group or user not found
    GroupOrUserNotFound
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum CreateInviteForAccountResponse {
    /// successful operation
    SuccessfulOperation
    (models::Invite)
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// Group not found
    GroupNotFound
    (models::Error)
    ,
    /// The username is already registered
    TheUsernameIsAlreadyRegistered
    (models::Error)
    ,
    /// The request body did not arrive within the configured time (`body_timeout`); the connection is closed.
    TheRequestBodyDidNotArriveWithinTheConfiguredTime
    (models::Error)
    ,
    /// Payload too large
    PayloadTooLarge
    (models::Error)
    ,
    /// The request body is not `application/json` (parameters such as `charset` are accepted).
    TheRequestBodyIsNot
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum CreateInviteForAccountResetResponse {
    /// successful operation
    SuccessfulOperation
    (models::Invite)
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// User not found
    UserNotFound
    (models::Error)
    ,
    /// The request body did not arrive within the configured time (`body_timeout`); the connection is closed.
    TheRequestBodyDidNotArriveWithinTheConfiguredTime
    (models::Error)
    ,
    /// Payload too large
    PayloadTooLarge
    (models::Error)
    ,
    /// The request body is not `application/json` (parameters such as `charset` are accepted).
    TheRequestBodyIsNot
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum CreateInviteForGroupResponse {
    /// successful operation
    SuccessfulOperation
    (models::Invite)
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// Group not found
    GroupNotFound
    (models::Error)
    ,
    /// The chosen group id (group_options.id) is in use already
    TheChosenGroupId
    (models::Error)
    ,
    /// The request body did not arrive within the configured time (`body_timeout`); the connection is closed.
    TheRequestBodyDidNotArriveWithinTheConfiguredTime
    (models::Error)
    ,
    /// Payload too large
    PayloadTooLarge
    (models::Error)
    ,
    /// The request body is not `application/json` (parameters such as `charset` are accepted).
    TheRequestBodyIsNot
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum ListInvitesResponse {
    /// successful operation
    SuccessfulOperation
    {
        body: Vec<models::Invite>,
        link:
        Option<
        String
        >
    }
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum DeleteInviteResponse {
    /// successful operation
    SuccessfulOperation
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// Invite not found
    InviteNotFound
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum GetInviteByIdResponse {
    /// successful operation
    SuccessfulOperation
    (models::Invite)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// Invite not found
    InviteNotFound
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub enum GetDocsPageResponse {
    /// The page
    ThePage
    (String)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub enum GetDocsScriptResponse {
    /// The script
    TheScript
    (String)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub enum GetDocsStyleResponse {
    /// The style sheet
    TheStyleSheet
    (String)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub enum GetHealthResponse {
    /// Alive
    Alive
    (models::Health)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub enum GetOpenApiJsonResponse {
    /// The OpenAPI document
    TheOpenAPIDocument
    (serde_json::Value)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub enum GetOpenApiYamlResponse {
    /// The OpenAPI document
    TheOpenAPIDocument
    (String)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum GetReadinessResponse {
    /// Ready
    Ready
    (models::Health)
    ,
    /// Not ready (the reason is in the text)
    NotReady
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum GetServerInfoResponse {
    /// successful operation
    SuccessfulOperation
    (models::ServerInfo)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum GetServerMetricsResponse {
    /// successful operation
    SuccessfulOperation
    (models::ServerMetrics)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub enum GetServiceMetricsResponse {
    /// The metrics
    TheMetrics
    (String)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum PostServerAnnouncementResponse {
    /// Announcement sent
    AnnouncementSent
    (models::AnnouncementResult)
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// User not found
    UserNotFound
    (models::Error)
    ,
    /// No live path to Prosody for online users
    NoLivePathToProsodyForOnlineUsers
    (models::Error)
    ,
    /// The request body did not arrive within the configured time (`body_timeout`); the connection is closed.
    TheRequestBodyDidNotArriveWithinTheConfiguredTime
    (models::Error)
    ,
    /// Payload too large
    PayloadTooLarge
    (models::Error)
    ,
    /// The request body is not `application/json` (parameters such as `charset` are accepted).
    TheRequestBodyIsNot
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum ListUsersResponse {
    /// successful operation
    SuccessfulOperation
    {
        body: Vec<models::User>,
        link:
        Option<
        String
        >
    }
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum DeleteUserResponse {
    /// successful operation
    SuccessfulOperation
    ,
    /// Cannot delete the account of the token in use
    CannotDeleteTheAccountOfTheTokenInUse
    (models::Error)
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// User not found
    UserNotFound
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum EndUserSessionsResponse {
    /// The sessions ended
    TheSessionsEnded
    (models::EndedSessions)
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// User not found
    UserNotFound
    (models::Error)
    ,
    /// The live path is not configured, or Prosody does not answer on it
    TheLivePathIsNotConfigured
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum GetUserByNameResponse {
    /// successful operation
    SuccessfulOperation
    (models::User)
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// User not found
    UserNotFound
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum GetUserDebugInfoResponse {
    /// successful operation
    SuccessfulOperation
    (models::UserDebugInfo)
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// User not found
    UserNotFound
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum GetUserGroupsResponse {
    /// Returns an array of group IDs that the user belongs to
    ReturnsAnArrayOfGroupIDsThatTheUserBelongsTo
    (Vec<String>)
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// User not found
    UserNotFound
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum PatchUserResponse {
    /// successful operation
    SuccessfulOperation
    (models::User)
    ,
    /// Would lock the caller or the last admin out
    WouldLockTheCallerOrTheLastAdminOut
    (models::Error)
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// User not found
    UserNotFound
    (models::Error)
    ,
    /// The request body did not arrive within the configured time (`body_timeout`); the connection is closed.
    TheRequestBodyDidNotArriveWithinTheConfiguredTime
    (models::Error)
    ,
    /// Payload too large
    PayloadTooLarge
    (models::Error)
    ,
    /// The request body is not `application/json` (parameters such as `charset` are accepted).
    TheRequestBodyIsNot
    (models::Error)
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[must_use]
pub enum UpdateUserResponse {
    /// successful operation
    SuccessfulOperation
    (models::User)
    ,
    /// Cannot take the admin role from the account of the token in use
    CannotTakeTheAdminRoleFromTheAccountOfTheTokenInUse
    (models::Error)
    ,
    /// Bad request
    BadRequest
    (models::Error)
    ,
    /// Unauthorized
    Unauthorized
    {
        body: models::Error,
        www_authenticate:
        Option<
        String
        >
    }
    ,
    /// Too many failed authentications from this client address; try again after `Retry-After` seconds. Tokens that authenticated recently keep working.
    TooManyFailedAuthenticationsFromThisClientAddress
    {
        body: models::Error,
        retry_after:
        Option<
        i64
        >
    }
    ,
    /// Forbidden
    Forbidden
    (models::Error)
    ,
    /// User not found
    UserNotFound
    (models::Error)
    ,
    /// The request body did not arrive within the configured time (`body_timeout`); the connection is closed.
    TheRequestBodyDidNotArriveWithinTheConfiguredTime
    (models::Error)
    ,
    /// Payload too large
    PayloadTooLarge
    (models::Error)
    ,
    /// The request body is not `application/json` (parameters such as `charset` are accepted).
    TheRequestBodyIsNot
    (models::Error)
}

/// API
#[cfg_attr(feature = "mock", automock)]
#[async_trait]
#[allow(clippy::too_many_arguments, clippy::ptr_arg)]
pub trait Api<C: Send + Sync> {
    /// The audit log, newest first
    async fn list_audit_entries(
        &self,
        limit: Option<u64>,
        before: Option<String>,
        actor: Option<String>,
        operation: Option<String>,
        since: Option<u64>,
        until: Option<u64>,
        context: &C) -> Result<ListAuditEntriesResponse, ApiError>;

    /// Sign in with an account's password
    async fn create_console_session(
        &self,
        console_sign_in: models::ConsoleSignIn,
        context: &C) -> Result<CreateConsoleSessionResponse, ApiError>;

    /// Sign out
    async fn end_console_session(
        &self,
        context: &C) -> Result<EndConsoleSessionResponse, ApiError>;

    /// The web console
    async fn get_console_page(
        &self,
        context: &C) -> Result<GetConsolePageResponse, ApiError>;

    /// The console's script
    async fn get_console_script(
        &self,
        context: &C) -> Result<GetConsoleScriptResponse, ApiError>;

    /// The console's style sheet
    async fn get_console_style(
        &self,
        context: &C) -> Result<GetConsoleStyleResponse, ApiError>;

    /// Create group
    async fn create_group(
        &self,
        new_group: models::NewGroup,
        context: &C) -> Result<CreateGroupResponse, ApiError>;

    /// List groups
    async fn list_groups(
        &self,
        limit: Option<u64>,
        after: Option<String>,
        context: &C) -> Result<ListGroupsResponse, ApiError>;

    /// Add a group chat
    async fn create_group_chat(
        &self,
        id: String,
        body: models::NewGroupChat,
        context: &C) -> Result<CreateGroupChatResponse, ApiError>;

    /// Delete group
    async fn delete_group(
        &self,
        id: String,
        context: &C) -> Result<DeleteGroupResponse, ApiError>;

    /// Get group by id
    async fn get_group_by_id(
        &self,
        id: String,
        context: &C) -> Result<GetGroupByIdResponse, ApiError>;

    /// Rename a group
    async fn update_group(
        &self,
        id: String,
        body: models::GroupUpdate,
        context: &C) -> Result<UpdateGroupResponse, ApiError>;

    /// Create group membership
    async fn add_group_member(
        &self,
        id: String,
        username: String,
        context: &C) -> Result<AddGroupMemberResponse, ApiError>;

    /// Remove a group chat
    async fn delete_group_chat(
        &self,
        id: String,
        chat_id: String,
        context: &C) -> Result<DeleteGroupChatResponse, ApiError>;

    /// Delete a group membership
    async fn delete_group_member(
        &self,
        id: String,
        username: String,
        context: &C) -> Result<DeleteGroupMemberResponse, ApiError>;

    /// Create invitation to register a new account
    async fn create_invite_for_account(
        &self,
        new_account_invite: Option<models::NewAccountInvite>,
        context: &C) -> Result<CreateInviteForAccountResponse, ApiError>;

    /// Create account reset invitation
    async fn create_invite_for_account_reset(
        &self,
        new_reset_invite: models::NewResetInvite,
        context: &C) -> Result<CreateInviteForAccountResetResponse, ApiError>;

    /// Create group invitation
    async fn create_invite_for_group(
        &self,
        new_group_invite: Option<models::NewGroupInvite>,
        context: &C) -> Result<CreateInviteForGroupResponse, ApiError>;

    /// List invites
    async fn list_invites(
        &self,
        limit: Option<u64>,
        after: Option<String>,
        context: &C) -> Result<ListInvitesResponse, ApiError>;

    /// Delete invite
    async fn delete_invite(
        &self,
        id: String,
        context: &C) -> Result<DeleteInviteResponse, ApiError>;

    /// Get invite by id
    async fn get_invite_by_id(
        &self,
        id: String,
        context: &C) -> Result<GetInviteByIdResponse, ApiError>;

    /// This API's documentation page
    async fn get_docs_page(
        &self,
        context: &C) -> Result<GetDocsPageResponse, ApiError>;

    /// The docs page's script (Swagger UI)
    async fn get_docs_script(
        &self,
        context: &C) -> Result<GetDocsScriptResponse, ApiError>;

    /// The docs page's style sheet (Swagger UI)
    async fn get_docs_style(
        &self,
        context: &C) -> Result<GetDocsStyleResponse, ApiError>;

    /// Liveness
    async fn get_health(
        &self,
        context: &C) -> Result<GetHealthResponse, ApiError>;

    /// This API's contract, in JSON
    async fn get_open_api_json(
        &self,
        context: &C) -> Result<GetOpenApiJsonResponse, ApiError>;

    /// This API's contract, in YAML
    async fn get_open_api_yaml(
        &self,
        context: &C) -> Result<GetOpenApiYamlResponse, ApiError>;

    /// Readiness
    async fn get_readiness(
        &self,
        context: &C) -> Result<GetReadinessResponse, ApiError>;

    /// Get information about the server
    async fn get_server_info(
        &self,
        context: &C) -> Result<GetServerInfoResponse, ApiError>;

    /// Usage figures of the server
    async fn get_server_metrics(
        &self,
        context: &C) -> Result<GetServerMetricsResponse, ApiError>;

    /// This service's own metrics (OpenMetrics)
    async fn get_service_metrics(
        &self,
        context: &C) -> Result<GetServiceMetricsResponse, ApiError>;

    /// Send an announcement to users
    async fn post_server_announcement(
        &self,
        body: models::Announcement,
        context: &C) -> Result<PostServerAnnouncementResponse, ApiError>;

    /// List users
    async fn list_users(
        &self,
        limit: Option<u64>,
        after: Option<String>,
        context: &C) -> Result<ListUsersResponse, ApiError>;

    /// Delete user
    async fn delete_user(
        &self,
        username: String,
        context: &C) -> Result<DeleteUserResponse, ApiError>;

    /// End the user's live sessions
    async fn end_user_sessions(
        &self,
        username: String,
        resource: Option<String>,
        context: &C) -> Result<EndUserSessionsResponse, ApiError>;

    /// Get user by user name
    async fn get_user_by_name(
        &self,
        username: String,
        context: &C) -> Result<GetUserByNameResponse, ApiError>;

    /// Get user debug info
    async fn get_user_debug_info(
        &self,
        username: String,
        context: &C) -> Result<GetUserDebugInfoResponse, ApiError>;

    /// List groups that user is a member of
    async fn get_user_groups(
        &self,
        username: String,
        context: &C) -> Result<GetUserGroupsResponse, ApiError>;

    /// Enable or disable a user
    async fn patch_user(
        &self,
        username: String,
        body: models::UserPatch,
        context: &C) -> Result<PatchUserResponse, ApiError>;

    /// Update user
    async fn update_user(
        &self,
        username: String,
        body: models::User,
        context: &C) -> Result<UpdateUserResponse, ApiError>;

}

/// API where `Context` isn't passed on every API call
#[cfg_attr(feature = "mock", automock)]
#[async_trait]
#[allow(clippy::too_many_arguments, clippy::ptr_arg)]
pub trait ApiNoContext<C: Send + Sync> {
    // The std::task::Context struct houses a reference to std::task::Waker with the lifetime <'a>.
    // Adding an anonymous lifetime `'a` to allow mockall to create a mock object with the right lifetimes.
    // This is needed because the compiler is unable to determine the lifetimes on F's trait bound
    // where F is the closure created by mockall. We use higher-rank trait bounds here to get around this.

    fn context(&self) -> &C;

    /// The audit log, newest first
    async fn list_audit_entries(
        &self,
        limit: Option<u64>,
        before: Option<String>,
        actor: Option<String>,
        operation: Option<String>,
        since: Option<u64>,
        until: Option<u64>,
        ) -> Result<ListAuditEntriesResponse, ApiError>;

    /// Sign in with an account's password
    async fn create_console_session(
        &self,
        console_sign_in: models::ConsoleSignIn,
        ) -> Result<CreateConsoleSessionResponse, ApiError>;

    /// Sign out
    async fn end_console_session(
        &self,
        ) -> Result<EndConsoleSessionResponse, ApiError>;

    /// The web console
    async fn get_console_page(
        &self,
        ) -> Result<GetConsolePageResponse, ApiError>;

    /// The console's script
    async fn get_console_script(
        &self,
        ) -> Result<GetConsoleScriptResponse, ApiError>;

    /// The console's style sheet
    async fn get_console_style(
        &self,
        ) -> Result<GetConsoleStyleResponse, ApiError>;

    /// Create group
    async fn create_group(
        &self,
        new_group: models::NewGroup,
        ) -> Result<CreateGroupResponse, ApiError>;

    /// List groups
    async fn list_groups(
        &self,
        limit: Option<u64>,
        after: Option<String>,
        ) -> Result<ListGroupsResponse, ApiError>;

    /// Add a group chat
    async fn create_group_chat(
        &self,
        id: String,
        body: models::NewGroupChat,
        ) -> Result<CreateGroupChatResponse, ApiError>;

    /// Delete group
    async fn delete_group(
        &self,
        id: String,
        ) -> Result<DeleteGroupResponse, ApiError>;

    /// Get group by id
    async fn get_group_by_id(
        &self,
        id: String,
        ) -> Result<GetGroupByIdResponse, ApiError>;

    /// Rename a group
    async fn update_group(
        &self,
        id: String,
        body: models::GroupUpdate,
        ) -> Result<UpdateGroupResponse, ApiError>;

    /// Create group membership
    async fn add_group_member(
        &self,
        id: String,
        username: String,
        ) -> Result<AddGroupMemberResponse, ApiError>;

    /// Remove a group chat
    async fn delete_group_chat(
        &self,
        id: String,
        chat_id: String,
        ) -> Result<DeleteGroupChatResponse, ApiError>;

    /// Delete a group membership
    async fn delete_group_member(
        &self,
        id: String,
        username: String,
        ) -> Result<DeleteGroupMemberResponse, ApiError>;

    /// Create invitation to register a new account
    async fn create_invite_for_account(
        &self,
        new_account_invite: Option<models::NewAccountInvite>,
        ) -> Result<CreateInviteForAccountResponse, ApiError>;

    /// Create account reset invitation
    async fn create_invite_for_account_reset(
        &self,
        new_reset_invite: models::NewResetInvite,
        ) -> Result<CreateInviteForAccountResetResponse, ApiError>;

    /// Create group invitation
    async fn create_invite_for_group(
        &self,
        new_group_invite: Option<models::NewGroupInvite>,
        ) -> Result<CreateInviteForGroupResponse, ApiError>;

    /// List invites
    async fn list_invites(
        &self,
        limit: Option<u64>,
        after: Option<String>,
        ) -> Result<ListInvitesResponse, ApiError>;

    /// Delete invite
    async fn delete_invite(
        &self,
        id: String,
        ) -> Result<DeleteInviteResponse, ApiError>;

    /// Get invite by id
    async fn get_invite_by_id(
        &self,
        id: String,
        ) -> Result<GetInviteByIdResponse, ApiError>;

    /// This API's documentation page
    async fn get_docs_page(
        &self,
        ) -> Result<GetDocsPageResponse, ApiError>;

    /// The docs page's script (Swagger UI)
    async fn get_docs_script(
        &self,
        ) -> Result<GetDocsScriptResponse, ApiError>;

    /// The docs page's style sheet (Swagger UI)
    async fn get_docs_style(
        &self,
        ) -> Result<GetDocsStyleResponse, ApiError>;

    /// Liveness
    async fn get_health(
        &self,
        ) -> Result<GetHealthResponse, ApiError>;

    /// This API's contract, in JSON
    async fn get_open_api_json(
        &self,
        ) -> Result<GetOpenApiJsonResponse, ApiError>;

    /// This API's contract, in YAML
    async fn get_open_api_yaml(
        &self,
        ) -> Result<GetOpenApiYamlResponse, ApiError>;

    /// Readiness
    async fn get_readiness(
        &self,
        ) -> Result<GetReadinessResponse, ApiError>;

    /// Get information about the server
    async fn get_server_info(
        &self,
        ) -> Result<GetServerInfoResponse, ApiError>;

    /// Usage figures of the server
    async fn get_server_metrics(
        &self,
        ) -> Result<GetServerMetricsResponse, ApiError>;

    /// This service's own metrics (OpenMetrics)
    async fn get_service_metrics(
        &self,
        ) -> Result<GetServiceMetricsResponse, ApiError>;

    /// Send an announcement to users
    async fn post_server_announcement(
        &self,
        body: models::Announcement,
        ) -> Result<PostServerAnnouncementResponse, ApiError>;

    /// List users
    async fn list_users(
        &self,
        limit: Option<u64>,
        after: Option<String>,
        ) -> Result<ListUsersResponse, ApiError>;

    /// Delete user
    async fn delete_user(
        &self,
        username: String,
        ) -> Result<DeleteUserResponse, ApiError>;

    /// End the user's live sessions
    async fn end_user_sessions(
        &self,
        username: String,
        resource: Option<String>,
        ) -> Result<EndUserSessionsResponse, ApiError>;

    /// Get user by user name
    async fn get_user_by_name(
        &self,
        username: String,
        ) -> Result<GetUserByNameResponse, ApiError>;

    /// Get user debug info
    async fn get_user_debug_info(
        &self,
        username: String,
        ) -> Result<GetUserDebugInfoResponse, ApiError>;

    /// List groups that user is a member of
    async fn get_user_groups(
        &self,
        username: String,
        ) -> Result<GetUserGroupsResponse, ApiError>;

    /// Enable or disable a user
    async fn patch_user(
        &self,
        username: String,
        body: models::UserPatch,
        ) -> Result<PatchUserResponse, ApiError>;

    /// Update user
    async fn update_user(
        &self,
        username: String,
        body: models::User,
        ) -> Result<UpdateUserResponse, ApiError>;

}

/// Trait to extend an API to make it easy to bind it to a context.
pub trait ContextWrapperExt<C: Send + Sync> where Self: Sized
{
    /// Binds this API to a context.
    fn with_context(self, context: C) -> ContextWrapper<Self, C>;
}

impl<T: Api<C> + Send + Sync, C: Clone + Send + Sync> ContextWrapperExt<C> for T {
    fn with_context(self: T, context: C) -> ContextWrapper<T, C> {
         ContextWrapper::<T, C>::new(self, context)
    }
}

#[async_trait]
impl<T: Api<C> + Send + Sync, C: Clone + Send + Sync> ApiNoContext<C> for ContextWrapper<T, C> {
    fn context(&self) -> &C {
        ContextWrapper::context(self)
    }

    /// The audit log, newest first
    async fn list_audit_entries(
        &self,
        limit: Option<u64>,
        before: Option<String>,
        actor: Option<String>,
        operation: Option<String>,
        since: Option<u64>,
        until: Option<u64>,
        ) -> Result<ListAuditEntriesResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().list_audit_entries(limit, before, actor, operation, since, until, &context).await
    }

    /// Sign in with an account's password
    async fn create_console_session(
        &self,
        console_sign_in: models::ConsoleSignIn,
        ) -> Result<CreateConsoleSessionResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().create_console_session(console_sign_in, &context).await
    }

    /// Sign out
    async fn end_console_session(
        &self,
        ) -> Result<EndConsoleSessionResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().end_console_session(&context).await
    }

    /// The web console
    async fn get_console_page(
        &self,
        ) -> Result<GetConsolePageResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().get_console_page(&context).await
    }

    /// The console's script
    async fn get_console_script(
        &self,
        ) -> Result<GetConsoleScriptResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().get_console_script(&context).await
    }

    /// The console's style sheet
    async fn get_console_style(
        &self,
        ) -> Result<GetConsoleStyleResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().get_console_style(&context).await
    }

    /// Create group
    async fn create_group(
        &self,
        new_group: models::NewGroup,
        ) -> Result<CreateGroupResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().create_group(new_group, &context).await
    }

    /// List groups
    async fn list_groups(
        &self,
        limit: Option<u64>,
        after: Option<String>,
        ) -> Result<ListGroupsResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().list_groups(limit, after, &context).await
    }

    /// Add a group chat
    async fn create_group_chat(
        &self,
        id: String,
        body: models::NewGroupChat,
        ) -> Result<CreateGroupChatResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().create_group_chat(id, body, &context).await
    }

    /// Delete group
    async fn delete_group(
        &self,
        id: String,
        ) -> Result<DeleteGroupResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().delete_group(id, &context).await
    }

    /// Get group by id
    async fn get_group_by_id(
        &self,
        id: String,
        ) -> Result<GetGroupByIdResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().get_group_by_id(id, &context).await
    }

    /// Rename a group
    async fn update_group(
        &self,
        id: String,
        body: models::GroupUpdate,
        ) -> Result<UpdateGroupResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().update_group(id, body, &context).await
    }

    /// Create group membership
    async fn add_group_member(
        &self,
        id: String,
        username: String,
        ) -> Result<AddGroupMemberResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().add_group_member(id, username, &context).await
    }

    /// Remove a group chat
    async fn delete_group_chat(
        &self,
        id: String,
        chat_id: String,
        ) -> Result<DeleteGroupChatResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().delete_group_chat(id, chat_id, &context).await
    }

    /// Delete a group membership
    async fn delete_group_member(
        &self,
        id: String,
        username: String,
        ) -> Result<DeleteGroupMemberResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().delete_group_member(id, username, &context).await
    }

    /// Create invitation to register a new account
    async fn create_invite_for_account(
        &self,
        new_account_invite: Option<models::NewAccountInvite>,
        ) -> Result<CreateInviteForAccountResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().create_invite_for_account(new_account_invite, &context).await
    }

    /// Create account reset invitation
    async fn create_invite_for_account_reset(
        &self,
        new_reset_invite: models::NewResetInvite,
        ) -> Result<CreateInviteForAccountResetResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().create_invite_for_account_reset(new_reset_invite, &context).await
    }

    /// Create group invitation
    async fn create_invite_for_group(
        &self,
        new_group_invite: Option<models::NewGroupInvite>,
        ) -> Result<CreateInviteForGroupResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().create_invite_for_group(new_group_invite, &context).await
    }

    /// List invites
    async fn list_invites(
        &self,
        limit: Option<u64>,
        after: Option<String>,
        ) -> Result<ListInvitesResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().list_invites(limit, after, &context).await
    }

    /// Delete invite
    async fn delete_invite(
        &self,
        id: String,
        ) -> Result<DeleteInviteResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().delete_invite(id, &context).await
    }

    /// Get invite by id
    async fn get_invite_by_id(
        &self,
        id: String,
        ) -> Result<GetInviteByIdResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().get_invite_by_id(id, &context).await
    }

    /// This API's documentation page
    async fn get_docs_page(
        &self,
        ) -> Result<GetDocsPageResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().get_docs_page(&context).await
    }

    /// The docs page's script (Swagger UI)
    async fn get_docs_script(
        &self,
        ) -> Result<GetDocsScriptResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().get_docs_script(&context).await
    }

    /// The docs page's style sheet (Swagger UI)
    async fn get_docs_style(
        &self,
        ) -> Result<GetDocsStyleResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().get_docs_style(&context).await
    }

    /// Liveness
    async fn get_health(
        &self,
        ) -> Result<GetHealthResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().get_health(&context).await
    }

    /// This API's contract, in JSON
    async fn get_open_api_json(
        &self,
        ) -> Result<GetOpenApiJsonResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().get_open_api_json(&context).await
    }

    /// This API's contract, in YAML
    async fn get_open_api_yaml(
        &self,
        ) -> Result<GetOpenApiYamlResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().get_open_api_yaml(&context).await
    }

    /// Readiness
    async fn get_readiness(
        &self,
        ) -> Result<GetReadinessResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().get_readiness(&context).await
    }

    /// Get information about the server
    async fn get_server_info(
        &self,
        ) -> Result<GetServerInfoResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().get_server_info(&context).await
    }

    /// Usage figures of the server
    async fn get_server_metrics(
        &self,
        ) -> Result<GetServerMetricsResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().get_server_metrics(&context).await
    }

    /// This service's own metrics (OpenMetrics)
    async fn get_service_metrics(
        &self,
        ) -> Result<GetServiceMetricsResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().get_service_metrics(&context).await
    }

    /// Send an announcement to users
    async fn post_server_announcement(
        &self,
        body: models::Announcement,
        ) -> Result<PostServerAnnouncementResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().post_server_announcement(body, &context).await
    }

    /// List users
    async fn list_users(
        &self,
        limit: Option<u64>,
        after: Option<String>,
        ) -> Result<ListUsersResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().list_users(limit, after, &context).await
    }

    /// Delete user
    async fn delete_user(
        &self,
        username: String,
        ) -> Result<DeleteUserResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().delete_user(username, &context).await
    }

    /// End the user's live sessions
    async fn end_user_sessions(
        &self,
        username: String,
        resource: Option<String>,
        ) -> Result<EndUserSessionsResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().end_user_sessions(username, resource, &context).await
    }

    /// Get user by user name
    async fn get_user_by_name(
        &self,
        username: String,
        ) -> Result<GetUserByNameResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().get_user_by_name(username, &context).await
    }

    /// Get user debug info
    async fn get_user_debug_info(
        &self,
        username: String,
        ) -> Result<GetUserDebugInfoResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().get_user_debug_info(username, &context).await
    }

    /// List groups that user is a member of
    async fn get_user_groups(
        &self,
        username: String,
        ) -> Result<GetUserGroupsResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().get_user_groups(username, &context).await
    }

    /// Enable or disable a user
    async fn patch_user(
        &self,
        username: String,
        body: models::UserPatch,
        ) -> Result<PatchUserResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().patch_user(username, body, &context).await
    }

    /// Update user
    async fn update_user(
        &self,
        username: String,
        body: models::User,
        ) -> Result<UpdateUserResponse, ApiError>
    {
        let context = self.context().clone();
        self.api().update_user(username, body, &context).await
    }

}


#[cfg(feature = "client")]
pub mod client;

// Re-export Client as a top-level name
#[cfg(feature = "client")]
pub use client::Client;

#[cfg(feature = "server")]
pub mod server;

// Re-export router() as a top-level name
#[cfg(feature = "server")]
pub use self::server::Service;

#[cfg(feature = "server")]
pub mod context;

pub mod models;

#[cfg(any(feature = "client", feature = "server"))]
pub(crate) mod header;
