//! CLI tool driving the API client
use anyhow::{anyhow, Context, Result};
use clap::Parser;
use dialoguer::Confirm;
use log::{debug, info};
// models may be unused if all inputs are primitive types
#[allow(unused_imports)]
use prosody_admin_api::{
    models, ApiNoContext, Client, ContextWrapperExt,
    ListAuditEntriesResponse,
    CreateConsoleSessionResponse,
    EndConsoleSessionResponse,
    GetConsolePageResponse,
    GetConsoleScriptResponse,
    GetConsoleStyleResponse,
    CreateGroupResponse,
    ListGroupsResponse,
    CreateGroupChatResponse,
    DeleteGroupResponse,
    GetGroupByIdResponse,
    UpdateGroupResponse,
    AddGroupMemberResponse,
    DeleteGroupChatResponse,
    DeleteGroupMemberResponse,
    CreateInviteForAccountResponse,
    CreateInviteForAccountResetResponse,
    CreateInviteForGroupResponse,
    ListInvitesResponse,
    DeleteInviteResponse,
    GetInviteByIdResponse,
    GetDocsPageResponse,
    GetDocsScriptResponse,
    GetDocsStyleResponse,
    GetHealthResponse,
    GetOpenApiJsonResponse,
    GetOpenApiYamlResponse,
    GetReadinessResponse,
    GetServerInfoResponse,
    GetServerMetricsResponse,
    GetServiceMetricsResponse,
    PostServerAnnouncementResponse,
    ListUsersResponse,
    DeleteUserResponse,
    EndUserSessionsResponse,
    GetUserByNameResponse,
    GetUserDebugInfoResponse,
    GetUserGroupsResponse,
    PatchUserResponse,
    UpdateUserResponse,
};
use simple_logger::SimpleLogger;
use swagger::{AuthData, ContextBuilder, EmptyContext, Push, XSpanIdString};

type ClientContext = swagger::make_context_ty!(
    ContextBuilder,
    EmptyContext,
    Option<AuthData>,
    XSpanIdString
);

#[derive(Parser, Debug)]
#[clap(
    name = "Prosody administration API",
    version = "1.0.0",
    about = "CLI access to Prosody administration API"
)]
struct Cli {
    #[clap(subcommand)]
    operation: Operation,

    /// Address or hostname of the server hosting this API, including optional port
    #[clap(short = 'a', long, default_value = "http://localhost")]
    server_address: String,

    /// Path to the client private key if using client-side TLS authentication
    #[cfg(all(feature = "client-tls", not(any(target_os = "macos", target_os = "windows", target_os = "ios"))))]
    #[clap(long, requires_all(&["client_certificate", "server_certificate"]))]
    client_key: Option<String>,

    /// Path to the client's public certificate associated with the private key
    #[cfg(all(feature = "client-tls", not(any(target_os = "macos", target_os = "windows", target_os = "ios"))))]
    #[clap(long, requires_all(&["client_key", "server_certificate"]))]
    client_certificate: Option<String>,

    /// Path to CA certificate used to authenticate the server
    #[cfg(all(feature = "client-tls", not(any(target_os = "macos", target_os = "windows", target_os = "ios"))))]
    #[clap(long)]
    server_certificate: Option<String>,

    /// If set, write output to file instead of stdout
    #[clap(short, long)]
    output_file: Option<String>,

    #[command(flatten)]
    verbosity: clap_verbosity_flag::Verbosity,

    /// Don't ask for any confirmation prompts
    #[allow(dead_code)]
    #[clap(short, long)]
    force: bool,

    /// Bearer token if used for authentication
    #[arg(env = "PROSODY_ADMIN_API_BEARER_TOKEN", hide_env = true)]
    bearer_token: Option<String>,
}

#[derive(Parser, Debug)]
enum Operation {
    /// The audit log, newest first
    ListAuditEntries {
        /// Entries per page.
        limit: Option<u64>,
        /// Cursor from the previous page's `next` (opaque).
        before: Option<String>,
        /// Only entries of this actor (a JID, or a local user for the CLI's).
        actor: Option<String>,
        /// Only entries of this operation (an operationId, or a CLI command such as `user add`).
        operation: Option<String>,
        /// Only entries at or after this time (Unix seconds).
        since: Option<u64>,
        /// Only entries at or before this time (Unix seconds).
        until: Option<u64>,
    },
    /// Sign in with an account's password
    CreateConsoleSession {
        #[clap(value_parser = parse_json::<models::ConsoleSignIn>)]
        console_sign_in: models::ConsoleSignIn,
    },
    /// Sign out
    EndConsoleSession {
    },
    /// The web console
    GetConsolePage {
    },
    /// The console's script
    GetConsoleScript {
    },
    /// The console's style sheet
    GetConsoleStyle {
    },
    /// Create group
    CreateGroup {
        /// Group parameters
        #[clap(value_parser = parse_json::<models::NewGroup>)]
        new_group: models::NewGroup,
    },
    /// List groups
    ListGroups {
        /// Items per page.
        limit: Option<u64>,
        /// Opaque cursor from a `Link` header; the page starts after the item it names.
        after: Option<String>,
    },
    /// Add a group chat
    CreateGroupChat {
        /// The id of the group
        id: String,
        #[clap(value_parser = parse_json::<models::NewGroupChat>)]
        body: models::NewGroupChat,
    },
    /// Delete group
    DeleteGroup {
        /// The id of the group to be deleted
        id: String,
    },
    /// Get group by id
    GetGroupById {
        /// The id of the group to fetch
        id: String,
    },
    /// Rename a group
    UpdateGroup {
        /// The id of the group
        id: String,
        #[clap(value_parser = parse_json::<models::GroupUpdate>)]
        body: models::GroupUpdate,
    },
    /// Create group membership
    AddGroupMember {
        /// The id of the group to modify
        id: String,
        /// The username to add to or remove from the group (as for `Username`)
        username: String,
    },
    /// Remove a group chat
    DeleteGroupChat {
        /// The id of the group
        id: String,
        /// The id of the chat (the room's node)
        chat_id: String,
    },
    /// Delete a group membership
    DeleteGroupMember {
        /// The id of the group to modify
        id: String,
        /// The username to add to or remove from the group (as for `Username`)
        username: String,
    },
    /// Create invitation to register a new account
    CreateInviteForAccount {
        /// Invite parameters (optional)
        #[clap(value_parser = parse_json::<models::NewAccountInvite>)]
        new_account_invite: Option<models::NewAccountInvite>,
    },
    /// Create account reset invitation
    CreateInviteForAccountReset {
        /// Invite parameters
        #[clap(value_parser = parse_json::<models::NewResetInvite>)]
        new_reset_invite: models::NewResetInvite,
    },
    /// Create group invitation
    CreateInviteForGroup {
        /// Invite parameters (optional)
        #[clap(value_parser = parse_json::<models::NewGroupInvite>)]
        new_group_invite: Option<models::NewGroupInvite>,
    },
    /// List invites
    ListInvites {
        /// Items per page.
        limit: Option<u64>,
        /// Opaque cursor from a `Link` header; the page starts after the item it names.
        after: Option<String>,
    },
    /// Delete invite
    DeleteInvite {
        /// The id of the invite to be deleted
        id: String,
    },
    /// Get invite by id
    GetInviteById {
        /// The id of the invite to fetch
        id: String,
    },
    /// This API's documentation page
    GetDocsPage {
    },
    /// The docs page's script (Swagger UI)
    GetDocsScript {
    },
    /// The docs page's style sheet (Swagger UI)
    GetDocsStyle {
    },
    /// Liveness
    GetHealth {
    },
    /// This API's contract, in JSON
    GetOpenApiJson {
    },
    /// This API's contract, in YAML
    GetOpenApiYaml {
    },
    /// Readiness
    GetReadiness {
    },
    /// Get information about the server
    GetServerInfo {
    },
    /// Usage figures of the server
    GetServerMetrics {
    },
    /// This service's own metrics (OpenMetrics)
    GetServiceMetrics {
    },
    /// Send an announcement to users
    PostServerAnnouncement {
        #[clap(value_parser = parse_json::<models::Announcement>)]
        body: models::Announcement,
    },
    /// List users
    ListUsers {
        /// Items per page.
        limit: Option<u64>,
        /// Opaque cursor from a `Link` header; the page starts after the item it names.
        after: Option<String>,
    },
    /// Delete user
    DeleteUser {
        /// The user's name: the node part of the JID. Nodeprep applies (so `Alice` is `alice`). The pattern states the ASCII part of nodeprep's rules (400 for what breaks it); a name nodeprep refuses otherwise (unassigned or prohibited Unicode code points, bidi rules), which no JSON Schema pattern can state, names no account that can exist: 404. 
        username: String,
    },
    /// End the user's live sessions
    EndUserSessions {
        /// The user's name: the node part of the JID. Nodeprep applies (so `Alice` is `alice`). The pattern states the ASCII part of nodeprep's rules (400 for what breaks it); a name nodeprep refuses otherwise (unassigned or prohibited Unicode code points, bidi rules), which no JSON Schema pattern can state, names no account that can exist: 404. 
        username: String,
        /// Only the session of this resource (one no session has ends nothing)
        resource: Option<String>,
    },
    /// Get user by user name
    GetUserByName {
        /// The user's name: the node part of the JID. Nodeprep applies (so `Alice` is `alice`). The pattern states the ASCII part of nodeprep's rules (400 for what breaks it); a name nodeprep refuses otherwise (unassigned or prohibited Unicode code points, bidi rules), which no JSON Schema pattern can state, names no account that can exist: 404. 
        username: String,
    },
    /// Get user debug info
    GetUserDebugInfo {
        /// The user's name: the node part of the JID. Nodeprep applies (so `Alice` is `alice`). The pattern states the ASCII part of nodeprep's rules (400 for what breaks it); a name nodeprep refuses otherwise (unassigned or prohibited Unicode code points, bidi rules), which no JSON Schema pattern can state, names no account that can exist: 404. 
        username: String,
    },
    /// List groups that user is a member of
    GetUserGroups {
        /// The user's name: the node part of the JID. Nodeprep applies (so `Alice` is `alice`). The pattern states the ASCII part of nodeprep's rules (400 for what breaks it); a name nodeprep refuses otherwise (unassigned or prohibited Unicode code points, bidi rules), which no JSON Schema pattern can state, names no account that can exist: 404. 
        username: String,
    },
    /// Enable or disable a user
    PatchUser {
        /// The user's name: the node part of the JID. Nodeprep applies (so `Alice` is `alice`). The pattern states the ASCII part of nodeprep's rules (400 for what breaks it); a name nodeprep refuses otherwise (unassigned or prohibited Unicode code points, bidi rules), which no JSON Schema pattern can state, names no account that can exist: 404. 
        username: String,
        #[clap(value_parser = parse_json::<models::UserPatch>)]
        body: models::UserPatch,
    },
    /// Update user
    UpdateUser {
        /// The user's name: the node part of the JID. Nodeprep applies (so `Alice` is `alice`). The pattern states the ASCII part of nodeprep's rules (400 for what breaks it); a name nodeprep refuses otherwise (unassigned or prohibited Unicode code points, bidi rules), which no JSON Schema pattern can state, names no account that can exist: 404. 
        username: String,
        /// Updated user object
        #[clap(value_parser = parse_json::<models::User>)]
        body: models::User,
    },
}

// On Linux/Unix with OpenSSL (client-tls feature), support certificate pinning and mutual TLS
#[cfg(all(feature = "client-tls", not(any(target_os = "macos", target_os = "windows", target_os = "ios"))))]
fn create_client(args: &Cli, context: ClientContext) -> Result<Box<dyn ApiNoContext<ClientContext>>> {
    if args.client_certificate.is_some() {
        debug!("Using mutual TLS");
        let client = Client::try_new_https_mutual(
            &args.server_address,
            args.server_certificate.clone().unwrap(),
            args.client_key.clone().unwrap(),
            args.client_certificate.clone().unwrap(),
        )
        .context("Failed to create HTTPS client")?;
        Ok(Box::new(client.with_context(context)))
    } else if args.server_certificate.is_some() {
        debug!("Using TLS with pinned server certificate");
        let client =
            Client::try_new_https_pinned(&args.server_address, args.server_certificate.clone().unwrap())
                .context("Failed to create HTTPS client")?;
        Ok(Box::new(client.with_context(context)))
    } else {
        debug!("Using client without certificates");
        let client =
            Client::try_new(&args.server_address).context("Failed to create HTTP(S) client")?;
        Ok(Box::new(client.with_context(context)))
    }
}

// On macOS/Windows/iOS or without client-tls feature, use simple client (no cert pinning/mutual TLS)
#[cfg(any(
    not(feature = "client-tls"),
    all(feature = "client-tls", any(target_os = "macos", target_os = "windows", target_os = "ios"))
))]
fn create_client(args: &Cli, context: ClientContext) -> Result<Box<dyn ApiNoContext<ClientContext>>> {
    // Client::try_new() automatically detects the URL scheme (http:// or https://)
    // and creates the appropriate client.
    // Note: Certificate pinning and mutual TLS are only available on Linux/Unix with OpenSSL
    let client =
        Client::try_new(&args.server_address).context("Failed to create HTTP(S) client")?;
    Ok(Box::new(client.with_context(context)))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Cli::parse();
    if let Some(log_level) = args.verbosity.log_level() {
        SimpleLogger::new().with_level(log_level.to_level_filter()).init()?;
    }

    debug!("Arguments: {:?}", &args);

    let mut auth_data: Option<AuthData> = None;

    if let Some(ref bearer_token) = args.bearer_token {
        debug!("Using bearer token");
        auth_data = AuthData::bearer(bearer_token);
    }

    #[allow(trivial_casts)]
    let context = swagger::make_context!(
        ContextBuilder,
        EmptyContext,
        auth_data,
        XSpanIdString::default()
    );

    let client = create_client(&args, context)?;

    let result = match args.operation {
        Operation::ListAuditEntries {
            limit,
            before,
            actor,
            operation,
            since,
            until,
        } => {
            info!("Performing a ListAuditEntries request");

            let result = client.list_audit_entries(
                limit,
                before,
                actor,
                operation,
                since,
                until,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                ListAuditEntriesResponse::SuccessfulOperation
                (body)
                => "SuccessfulOperation\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                ListAuditEntriesResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                ListAuditEntriesResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                ListAuditEntriesResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                ListAuditEntriesResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::CreateConsoleSession {
            console_sign_in,
        } => {
            info!("Performing a CreateConsoleSession request");

            let result = client.create_console_session(
                console_sign_in,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                CreateConsoleSessionResponse::SignedIn
                (body)
                => "SignedIn\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateConsoleSessionResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateConsoleSessionResponse::WrongUsernameOrPassword
                (body)
                => "WrongUsernameOrPassword\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateConsoleSessionResponse::TheAccountMayNotAdministerThisHost
                (body)
                => "TheAccountMayNotAdministerThisHost\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateConsoleSessionResponse::TheConsoleIsSwitchedOff
                (body)
                => "TheConsoleIsSwitchedOff\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateConsoleSessionResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
            }
        }
        Operation::EndConsoleSession {
        } => {
            prompt(args.force, "This will delete the given entry, are you sure?")?;
            info!("Performing a EndConsoleSession request");

            let result = client.end_console_session(
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                EndConsoleSessionResponse::TheTokenIsRevoked
                => "TheTokenIsRevoked\n".to_string()
                    ,
                EndConsoleSessionResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                EndConsoleSessionResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                EndConsoleSessionResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::GetConsolePage {
        } => {
            info!("Performing a GetConsolePage request");

            let result = client.get_console_page(
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                GetConsolePageResponse::ThePage
                (body)
                => "ThePage\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetConsolePageResponse::TheConsoleIsSwitchedOff
                (body)
                => "TheConsoleIsSwitchedOff\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::GetConsoleScript {
        } => {
            info!("Performing a GetConsoleScript request");

            let result = client.get_console_script(
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                GetConsoleScriptResponse::TheScript
                (body)
                => "TheScript\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetConsoleScriptResponse::TheConsoleIsSwitchedOff
                (body)
                => "TheConsoleIsSwitchedOff\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::GetConsoleStyle {
        } => {
            info!("Performing a GetConsoleStyle request");

            let result = client.get_console_style(
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                GetConsoleStyleResponse::TheStyleSheet
                (body)
                => "TheStyleSheet\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetConsoleStyleResponse::TheConsoleIsSwitchedOff
                (body)
                => "TheConsoleIsSwitchedOff\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::CreateGroup {
            new_group,
        } => {
            info!("Performing a CreateGroup request");

            let result = client.create_group(
                new_group,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                CreateGroupResponse::SuccessfulOperation
                (body)
                => "SuccessfulOperation\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateGroupResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateGroupResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                CreateGroupResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                CreateGroupResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateGroupResponse::TheRequestBodyDidNotArriveWithinTheConfiguredTime
                (body)
                => "TheRequestBodyDidNotArriveWithinTheConfiguredTime\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateGroupResponse::TheChosenIdIsInUse
                (body)
                => "TheChosenIdIsInUse\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateGroupResponse::PayloadTooLarge
                (body)
                => "PayloadTooLarge\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateGroupResponse::TheRequestBodyIsNot
                (body)
                => "TheRequestBodyIsNot\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::ListGroups {
            limit,
            after,
        } => {
            info!("Performing a ListGroups request");

            let result = client.list_groups(
                limit,
                after,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                ListGroupsResponse::SuccessfulOperation
                {
                    body,
                    link,
                }
                => "SuccessfulOperation\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "link: {}\n",
                        serde_json::to_string_pretty(&link)?
                    ),
                ListGroupsResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                ListGroupsResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                ListGroupsResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                ListGroupsResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::CreateGroupChat {
            id,
            body,
        } => {
            info!("Performing a CreateGroupChat request on {:?}", (
                &id
            ));

            let result = client.create_group_chat(
                id,
                body,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                CreateGroupChatResponse::TheNewGroupChat
                (body)
                => "TheNewGroupChat\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateGroupChatResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateGroupChatResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                CreateGroupChatResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                CreateGroupChatResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateGroupChatResponse::GroupNotFound
                (body)
                => "GroupNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateGroupChatResponse::TheRequestBodyDidNotArriveWithinTheConfiguredTime
                (body)
                => "TheRequestBodyDidNotArriveWithinTheConfiguredTime\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateGroupChatResponse::PayloadTooLarge
                (body)
                => "PayloadTooLarge\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateGroupChatResponse::TheRequestBodyIsNot
                (body)
                => "TheRequestBodyIsNot\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::DeleteGroup {
            id,
        } => {
            prompt(args.force, "This will delete the given entry, are you sure?")?;
            info!("Performing a DeleteGroup request on {:?}", (
                &id
            ));

            let result = client.delete_group(
                id,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                DeleteGroupResponse::GroupDeleted
                => "GroupDeleted\n".to_string()
                    ,
                DeleteGroupResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                DeleteGroupResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                DeleteGroupResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                DeleteGroupResponse::GroupNotFound
                (body)
                => "GroupNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::GetGroupById {
            id,
        } => {
            info!("Performing a GetGroupById request on {:?}", (
                &id
            ));

            let result = client.get_group_by_id(
                id,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                GetGroupByIdResponse::SuccessfulOperation
                (body)
                => "SuccessfulOperation\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetGroupByIdResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                GetGroupByIdResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                GetGroupByIdResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetGroupByIdResponse::GroupNotFound
                (body)
                => "GroupNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::UpdateGroup {
            id,
            body,
        } => {
            info!("Performing a UpdateGroup request on {:?}", (
                &id
            ));

            let result = client.update_group(
                id,
                body,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                UpdateGroupResponse::GroupRenamed
                => "GroupRenamed\n".to_string()
                    ,
                UpdateGroupResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                UpdateGroupResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                UpdateGroupResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                UpdateGroupResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                UpdateGroupResponse::GroupNotFound
                (body)
                => "GroupNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                UpdateGroupResponse::TheRequestBodyDidNotArriveWithinTheConfiguredTime
                (body)
                => "TheRequestBodyDidNotArriveWithinTheConfiguredTime\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                UpdateGroupResponse::PayloadTooLarge
                (body)
                => "PayloadTooLarge\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                UpdateGroupResponse::TheRequestBodyIsNot
                (body)
                => "TheRequestBodyIsNot\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::AddGroupMember {
            id,
            username,
        } => {
            info!("Performing a AddGroupMember request on {:?}", (
                &id,
                &username
            ));

            let result = client.add_group_member(
                id,
                username,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                AddGroupMemberResponse::SuccessfulOperation
                => "SuccessfulOperation\n".to_string()
                    ,
                AddGroupMemberResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                AddGroupMemberResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                AddGroupMemberResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                AddGroupMemberResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                AddGroupMemberResponse::GroupOrUserNotFound
                (body)
                => "GroupOrUserNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::DeleteGroupChat {
            id,
            chat_id,
        } => {
            prompt(args.force, "This will delete the given entry, are you sure?")?;
            info!("Performing a DeleteGroupChat request on {:?}", (
                &id,
                &chat_id
            ));

            let result = client.delete_group_chat(
                id,
                chat_id,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                DeleteGroupChatResponse::GroupChatRemoved
                => "GroupChatRemoved\n".to_string()
                    ,
                DeleteGroupChatResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                DeleteGroupChatResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                DeleteGroupChatResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                DeleteGroupChatResponse::GroupOrChatNotFound
                (body)
                => "GroupOrChatNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::DeleteGroupMember {
            id,
            username,
        } => {
            prompt(args.force, "This will delete the given entry, are you sure?")?;
            info!("Performing a DeleteGroupMember request on {:?}", (
                &id,
                &username
            ));

            let result = client.delete_group_member(
                id,
                username,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                DeleteGroupMemberResponse::SuccessfulOperation
                => "SuccessfulOperation\n".to_string()
                    ,
                DeleteGroupMemberResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                DeleteGroupMemberResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                DeleteGroupMemberResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                DeleteGroupMemberResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                DeleteGroupMemberResponse::GroupOrUserNotFound
                (body)
                => "GroupOrUserNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::CreateInviteForAccount {
            new_account_invite,
        } => {
            info!("Performing a CreateInviteForAccount request");

            let result = client.create_invite_for_account(
                new_account_invite,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                CreateInviteForAccountResponse::SuccessfulOperation
                (body)
                => "SuccessfulOperation\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForAccountResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForAccountResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                CreateInviteForAccountResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                CreateInviteForAccountResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForAccountResponse::GroupNotFound
                (body)
                => "GroupNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForAccountResponse::TheUsernameIsAlreadyRegistered
                (body)
                => "TheUsernameIsAlreadyRegistered\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForAccountResponse::TheRequestBodyDidNotArriveWithinTheConfiguredTime
                (body)
                => "TheRequestBodyDidNotArriveWithinTheConfiguredTime\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForAccountResponse::PayloadTooLarge
                (body)
                => "PayloadTooLarge\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForAccountResponse::TheRequestBodyIsNot
                (body)
                => "TheRequestBodyIsNot\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::CreateInviteForAccountReset {
            new_reset_invite,
        } => {
            info!("Performing a CreateInviteForAccountReset request");

            let result = client.create_invite_for_account_reset(
                new_reset_invite,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                CreateInviteForAccountResetResponse::SuccessfulOperation
                (body)
                => "SuccessfulOperation\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForAccountResetResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForAccountResetResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                CreateInviteForAccountResetResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                CreateInviteForAccountResetResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForAccountResetResponse::UserNotFound
                (body)
                => "UserNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForAccountResetResponse::TheRequestBodyDidNotArriveWithinTheConfiguredTime
                (body)
                => "TheRequestBodyDidNotArriveWithinTheConfiguredTime\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForAccountResetResponse::PayloadTooLarge
                (body)
                => "PayloadTooLarge\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForAccountResetResponse::TheRequestBodyIsNot
                (body)
                => "TheRequestBodyIsNot\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::CreateInviteForGroup {
            new_group_invite,
        } => {
            info!("Performing a CreateInviteForGroup request");

            let result = client.create_invite_for_group(
                new_group_invite,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                CreateInviteForGroupResponse::SuccessfulOperation
                (body)
                => "SuccessfulOperation\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForGroupResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForGroupResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                CreateInviteForGroupResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                CreateInviteForGroupResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForGroupResponse::GroupNotFound
                (body)
                => "GroupNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForGroupResponse::TheChosenGroupId
                (body)
                => "TheChosenGroupId\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForGroupResponse::TheRequestBodyDidNotArriveWithinTheConfiguredTime
                (body)
                => "TheRequestBodyDidNotArriveWithinTheConfiguredTime\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForGroupResponse::PayloadTooLarge
                (body)
                => "PayloadTooLarge\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                CreateInviteForGroupResponse::TheRequestBodyIsNot
                (body)
                => "TheRequestBodyIsNot\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::ListInvites {
            limit,
            after,
        } => {
            info!("Performing a ListInvites request");

            let result = client.list_invites(
                limit,
                after,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                ListInvitesResponse::SuccessfulOperation
                {
                    body,
                    link,
                }
                => "SuccessfulOperation\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "link: {}\n",
                        serde_json::to_string_pretty(&link)?
                    ),
                ListInvitesResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                ListInvitesResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                ListInvitesResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                ListInvitesResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::DeleteInvite {
            id,
        } => {
            prompt(args.force, "This will delete the given entry, are you sure?")?;
            info!("Performing a DeleteInvite request on {:?}", (
                &id
            ));

            let result = client.delete_invite(
                id,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                DeleteInviteResponse::SuccessfulOperation
                => "SuccessfulOperation\n".to_string()
                    ,
                DeleteInviteResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                DeleteInviteResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                DeleteInviteResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                DeleteInviteResponse::InviteNotFound
                (body)
                => "InviteNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::GetInviteById {
            id,
        } => {
            info!("Performing a GetInviteById request on {:?}", (
                &id
            ));

            let result = client.get_invite_by_id(
                id,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                GetInviteByIdResponse::SuccessfulOperation
                (body)
                => "SuccessfulOperation\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetInviteByIdResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                GetInviteByIdResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                GetInviteByIdResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetInviteByIdResponse::InviteNotFound
                (body)
                => "InviteNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::GetDocsPage {
        } => {
            info!("Performing a GetDocsPage request");

            let result = client.get_docs_page(
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                GetDocsPageResponse::ThePage
                (body)
                => "ThePage\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::GetDocsScript {
        } => {
            info!("Performing a GetDocsScript request");

            let result = client.get_docs_script(
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                GetDocsScriptResponse::TheScript
                (body)
                => "TheScript\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::GetDocsStyle {
        } => {
            info!("Performing a GetDocsStyle request");

            let result = client.get_docs_style(
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                GetDocsStyleResponse::TheStyleSheet
                (body)
                => "TheStyleSheet\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::GetHealth {
        } => {
            info!("Performing a GetHealth request");

            let result = client.get_health(
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                GetHealthResponse::Alive
                (body)
                => "Alive\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::GetOpenApiJson {
        } => {
            info!("Performing a GetOpenApiJson request");

            let result = client.get_open_api_json(
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                GetOpenApiJsonResponse::TheOpenAPIDocument
                (body)
                => "TheOpenAPIDocument\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::GetOpenApiYaml {
        } => {
            info!("Performing a GetOpenApiYaml request");

            let result = client.get_open_api_yaml(
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                GetOpenApiYamlResponse::TheOpenAPIDocument
                (body)
                => "TheOpenAPIDocument\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::GetReadiness {
        } => {
            info!("Performing a GetReadiness request");

            let result = client.get_readiness(
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                GetReadinessResponse::Ready
                (body)
                => "Ready\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetReadinessResponse::NotReady
                (body)
                => "NotReady\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::GetServerInfo {
        } => {
            info!("Performing a GetServerInfo request");

            let result = client.get_server_info(
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                GetServerInfoResponse::SuccessfulOperation
                (body)
                => "SuccessfulOperation\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetServerInfoResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                GetServerInfoResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                GetServerInfoResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::GetServerMetrics {
        } => {
            info!("Performing a GetServerMetrics request");

            let result = client.get_server_metrics(
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                GetServerMetricsResponse::SuccessfulOperation
                (body)
                => "SuccessfulOperation\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetServerMetricsResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                GetServerMetricsResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                GetServerMetricsResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::GetServiceMetrics {
        } => {
            info!("Performing a GetServiceMetrics request");

            let result = client.get_service_metrics(
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                GetServiceMetricsResponse::TheMetrics
                (body)
                => "TheMetrics\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::PostServerAnnouncement {
            body,
        } => {
            info!("Performing a PostServerAnnouncement request");

            let result = client.post_server_announcement(
                body,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                PostServerAnnouncementResponse::AnnouncementSent
                (body)
                => "AnnouncementSent\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                PostServerAnnouncementResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                PostServerAnnouncementResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                PostServerAnnouncementResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                PostServerAnnouncementResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                PostServerAnnouncementResponse::UserNotFound
                (body)
                => "UserNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                PostServerAnnouncementResponse::NoLivePathToProsodyForOnlineUsers
                (body)
                => "NoLivePathToProsodyForOnlineUsers\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                PostServerAnnouncementResponse::TheRequestBodyDidNotArriveWithinTheConfiguredTime
                (body)
                => "TheRequestBodyDidNotArriveWithinTheConfiguredTime\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                PostServerAnnouncementResponse::PayloadTooLarge
                (body)
                => "PayloadTooLarge\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                PostServerAnnouncementResponse::TheRequestBodyIsNot
                (body)
                => "TheRequestBodyIsNot\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::ListUsers {
            limit,
            after,
        } => {
            info!("Performing a ListUsers request");

            let result = client.list_users(
                limit,
                after,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                ListUsersResponse::SuccessfulOperation
                {
                    body,
                    link,
                }
                => "SuccessfulOperation\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "link: {}\n",
                        serde_json::to_string_pretty(&link)?
                    ),
                ListUsersResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                ListUsersResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                ListUsersResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                ListUsersResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::DeleteUser {
            username,
        } => {
            prompt(args.force, "This will delete the given entry, are you sure?")?;
            info!("Performing a DeleteUser request on {:?}", (
                &username
            ));

            let result = client.delete_user(
                username,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                DeleteUserResponse::SuccessfulOperation
                => "SuccessfulOperation\n".to_string()
                    ,
                DeleteUserResponse::CannotDeleteTheAccountOfTheTokenInUse
                (body)
                => "CannotDeleteTheAccountOfTheTokenInUse\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                DeleteUserResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                DeleteUserResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                DeleteUserResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                DeleteUserResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                DeleteUserResponse::UserNotFound
                (body)
                => "UserNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::EndUserSessions {
            username,
            resource,
        } => {
            prompt(args.force, "This will delete the given entry, are you sure?")?;
            info!("Performing a EndUserSessions request on {:?}", (
                &username
            ));

            let result = client.end_user_sessions(
                username,
                resource,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                EndUserSessionsResponse::TheSessionsEnded
                (body)
                => "TheSessionsEnded\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                EndUserSessionsResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                EndUserSessionsResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                EndUserSessionsResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                EndUserSessionsResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                EndUserSessionsResponse::UserNotFound
                (body)
                => "UserNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                EndUserSessionsResponse::TheLivePathIsNotConfigured
                (body)
                => "TheLivePathIsNotConfigured\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::GetUserByName {
            username,
        } => {
            info!("Performing a GetUserByName request on {:?}", (
                &username
            ));

            let result = client.get_user_by_name(
                username,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                GetUserByNameResponse::SuccessfulOperation
                (body)
                => "SuccessfulOperation\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetUserByNameResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetUserByNameResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                GetUserByNameResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                GetUserByNameResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetUserByNameResponse::UserNotFound
                (body)
                => "UserNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::GetUserDebugInfo {
            username,
        } => {
            info!("Performing a GetUserDebugInfo request on {:?}", (
                &username
            ));

            let result = client.get_user_debug_info(
                username,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                GetUserDebugInfoResponse::SuccessfulOperation
                (body)
                => "SuccessfulOperation\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetUserDebugInfoResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetUserDebugInfoResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                GetUserDebugInfoResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                GetUserDebugInfoResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetUserDebugInfoResponse::UserNotFound
                (body)
                => "UserNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::GetUserGroups {
            username,
        } => {
            info!("Performing a GetUserGroups request on {:?}", (
                &username
            ));

            let result = client.get_user_groups(
                username,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                GetUserGroupsResponse::ReturnsAnArrayOfGroupIDsThatTheUserBelongsTo
                (body)
                => "ReturnsAnArrayOfGroupIDsThatTheUserBelongsTo\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetUserGroupsResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetUserGroupsResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                GetUserGroupsResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                GetUserGroupsResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                GetUserGroupsResponse::UserNotFound
                (body)
                => "UserNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::PatchUser {
            username,
            body,
        } => {
            info!("Performing a PatchUser request on {:?}", (
                &username
            ));

            let result = client.patch_user(
                username,
                body,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                PatchUserResponse::SuccessfulOperation
                (body)
                => "SuccessfulOperation\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                PatchUserResponse::WouldLockTheCallerOrTheLastAdminOut
                (body)
                => "WouldLockTheCallerOrTheLastAdminOut\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                PatchUserResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                PatchUserResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                PatchUserResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                PatchUserResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                PatchUserResponse::UserNotFound
                (body)
                => "UserNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                PatchUserResponse::TheRequestBodyDidNotArriveWithinTheConfiguredTime
                (body)
                => "TheRequestBodyDidNotArriveWithinTheConfiguredTime\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                PatchUserResponse::PayloadTooLarge
                (body)
                => "PayloadTooLarge\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                PatchUserResponse::TheRequestBodyIsNot
                (body)
                => "TheRequestBodyIsNot\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
        Operation::UpdateUser {
            username,
            body,
        } => {
            info!("Performing a UpdateUser request on {:?}", (
                &username
            ));

            let result = client.update_user(
                username,
                body,
            ).await?;
            debug!("Result: {:?}", result);

            match result {
                UpdateUserResponse::SuccessfulOperation
                (body)
                => "SuccessfulOperation\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                UpdateUserResponse::CannotTakeTheAdminRoleFromTheAccountOfTheTokenInUse
                (body)
                => "CannotTakeTheAdminRoleFromTheAccountOfTheTokenInUse\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                UpdateUserResponse::BadRequest
                (body)
                => "BadRequest\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                UpdateUserResponse::Unauthorized
                {
                    body,
                    www_authenticate,
                }
                => "Unauthorized\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "www_authenticate: {}\n",
                        serde_json::to_string_pretty(&www_authenticate)?
                    ),
                UpdateUserResponse::TooManyFailedAuthenticationsFromThisClientAddress
                {
                    body,
                    retry_after,
                }
                => "TooManyFailedAuthenticationsFromThisClientAddress\n".to_string()
                   +
                    &format!("body: {}\n", serde_json::to_string_pretty(&body)?) +
                    &format!(
                        "retry_after: {}\n",
                        serde_json::to_string_pretty(&retry_after)?
                    ),
                UpdateUserResponse::Forbidden
                (body)
                => "Forbidden\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                UpdateUserResponse::UserNotFound
                (body)
                => "UserNotFound\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                UpdateUserResponse::TheRequestBodyDidNotArriveWithinTheConfiguredTime
                (body)
                => "TheRequestBodyDidNotArriveWithinTheConfiguredTime\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                UpdateUserResponse::PayloadTooLarge
                (body)
                => "PayloadTooLarge\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
                UpdateUserResponse::TheRequestBodyIsNot
                (body)
                => "TheRequestBodyIsNot\n".to_string()
                   +
                    &serde_json::to_string_pretty(&body)?,
            }
        }
    };

    if let Some(output_file) = args.output_file {
        std::fs::write(output_file, result)?
    } else {
        println!("{}", result);
    }
    Ok(())
}

fn prompt(force: bool, text: &str) -> Result<()> {
    if force || Confirm::new().with_prompt(text).interact()? {
        Ok(())
    } else {
        Err(anyhow!("Aborting"))
    }
}

// May be unused if all inputs are primitive types
#[allow(dead_code)]
fn parse_json<T: serde::de::DeserializeOwned>(json_string: &str) -> Result<T> {
    serde_json::from_str(json_string).map_err(|err| anyhow!("Error parsing input: {}", err))
}
