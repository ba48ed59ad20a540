//! Main library entry point for prosody_admin_api implementation.

#![allow(unused_imports)]

use async_trait::async_trait;
use futures::{future, Stream, StreamExt, TryFutureExt, TryStreamExt};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper::service::{service_fn, Service};
use log::info;
use std::future::Future;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use swagger::{Has, XSpanIdString};
use swagger::auth::MakeAllowAllAuthenticator;
use swagger::EmptyContext;
use tokio::net::TcpListener;

#[cfg(not(any(target_os = "macos", target_os = "windows", target_os = "ios")))]
use openssl::ssl::{Ssl, SslAcceptor, SslAcceptorBuilder, SslFiletype, SslMethod};

use prosody_admin_api::models;

/// Builds an SSL implementation for Simple HTTPS from some hard-coded file names
pub async fn create(addr: &str, https: bool) {
    let addr: SocketAddr = addr.parse().expect("Failed to parse bind address");
    let listener = TcpListener::bind(&addr).await.unwrap();

    let server = Server::new();

    let service = MakeService::new(server);
    let service = MakeAllowAllAuthenticator::new(service, "cosmo");

    #[allow(unused_mut)]
    let mut service =
        prosody_admin_api::server::context::MakeAddContext::<_, EmptyContext>::new(
            service
        );

    if https {
        #[cfg(any(target_os = "macos", target_os = "windows", target_os = "ios"))]
        {
            unimplemented!("SSL is not implemented for the examples on MacOS, Windows or iOS");
        }

        #[cfg(not(any(target_os = "macos", target_os = "windows", target_os = "ios")))]
        {
            let mut ssl = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).expect("Failed to create SSL Acceptor");

            // Server authentication
            ssl.set_private_key_file("examples/server-key.pem", SslFiletype::PEM).expect("Failed to set private key");
            ssl.set_certificate_chain_file("examples/server-chain.pem").expect("Failed to set certificate chain");
            ssl.check_private_key().expect("Failed to check private key");

            let tls_acceptor = ssl.build();

            info!("Starting a server (with https)");
            loop {
                if let Ok((tcp, addr)) = listener.accept().await {
                    let ssl = Ssl::new(tls_acceptor.context()).unwrap();
                    let service = service.call(addr);

                    tokio::spawn(async move {
                        let tls = tokio_openssl::SslStream::new(ssl, tcp).map_err(|_| ())?;
                        let service = service.await.map_err(|_| ())?;

                        http1::Builder::new()
                            .serve_connection(TokioIo::new(tls), service)
                            .await
                            .map_err(|_| ())
                    });
                }
            }
        }
    } else {
        info!("Starting a server (over http, so no TLS)");
        println!("Listening on http://{}", addr);

        loop {
            // When an incoming TCP connection is received grab a TCP stream for
            // client<->server communication.
            //
            // Note, this is a .await point, this loop will loop forever but is not a busy loop. The
            // .await point allows the Tokio runtime to pull the task off of the thread until the task
            // has work to do. In this case, a connection arrives on the port we are listening on and
            // the task is woken up, at which point the task is then put back on a thread, and is
            // driven forward by the runtime, eventually yielding a TCP stream.
            let (tcp_stream, addr) = listener.accept().await.expect("Failed to accept connection");

            let service = service.call(addr).await.unwrap();
            let io = TokioIo::new(tcp_stream);
            // Spin up a new task in Tokio so we can continue to listen for new TCP connection on the
            // current task without waiting for the processing of the HTTP1 connection we just received
            // to finish
            tokio::task::spawn(async move {
                // Handle the connection from the client using HTTP1 and pass any
                // HTTP requests received on that connection to the `hello` function
                let result = http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
                if let Err(err) = result
                {
                    println!("Error serving connection: {err:?}");
                }
            });
        }
    }
}

#[derive(Copy)]
pub struct Server<C> {
    marker: PhantomData<C>,
}

impl<C> Server<C> {
    pub fn new() -> Self {
        Server{marker: PhantomData}
    }
}

impl<C> Clone for Server<C> {
    fn clone(&self) -> Self {
        Self {
            marker: PhantomData,
        }
    }
}


use jsonwebtoken::{decode, encode, errors::Error as JwtError, Algorithm, DecodingKey, EncodingKey, Header, TokenData, Validation};
use serde::{Deserialize, Serialize};
use swagger::auth::Authorization;
use crate::server_auth;


use prosody_admin_api::{
    Api,
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
use prosody_admin_api::server::MakeService;
use std::error::Error;
use swagger::ApiError;

#[async_trait]
impl<C> Api<C> for Server<C> where C: Has<XSpanIdString> + Send + Sync
{
    /// The audit log, newest first
    async fn list_audit_entries(
        &self,
        limit: Option<u64>,
        before: Option<String>,
        actor: Option<String>,
        operation: Option<String>,
        since: Option<u64>,
        until: Option<u64>,
        context: &C) -> Result<ListAuditEntriesResponse, ApiError>
    {
        info!("list_audit_entries({:?}, {:?}, {:?}, {:?}, {:?}, {:?}) - X-Span-ID: {:?}", limit, before, actor, operation, since, until, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Sign in with an account's password
    async fn create_console_session(
        &self,
        console_sign_in: models::ConsoleSignIn,
        context: &C) -> Result<CreateConsoleSessionResponse, ApiError>
    {
        info!("create_console_session({:?}) - X-Span-ID: {:?}", console_sign_in, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Sign out
    async fn end_console_session(
        &self,
        context: &C) -> Result<EndConsoleSessionResponse, ApiError>
    {
        info!("end_console_session() - X-Span-ID: {:?}", context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// The web console
    async fn get_console_page(
        &self,
        context: &C) -> Result<GetConsolePageResponse, ApiError>
    {
        info!("get_console_page() - X-Span-ID: {:?}", context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// The console's script
    async fn get_console_script(
        &self,
        context: &C) -> Result<GetConsoleScriptResponse, ApiError>
    {
        info!("get_console_script() - X-Span-ID: {:?}", context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// The console's style sheet
    async fn get_console_style(
        &self,
        context: &C) -> Result<GetConsoleStyleResponse, ApiError>
    {
        info!("get_console_style() - X-Span-ID: {:?}", context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Create group
    async fn create_group(
        &self,
        new_group: models::NewGroup,
        context: &C) -> Result<CreateGroupResponse, ApiError>
    {
        info!("create_group({:?}) - X-Span-ID: {:?}", new_group, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// List groups
    async fn list_groups(
        &self,
        limit: Option<u64>,
        after: Option<String>,
        context: &C) -> Result<ListGroupsResponse, ApiError>
    {
        info!("list_groups({:?}, {:?}) - X-Span-ID: {:?}", limit, after, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Add a group chat
    async fn create_group_chat(
        &self,
        id: String,
        body: models::NewGroupChat,
        context: &C) -> Result<CreateGroupChatResponse, ApiError>
    {
        info!("create_group_chat({:?}, {:?}) - X-Span-ID: {:?}", id, body, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Delete group
    async fn delete_group(
        &self,
        id: String,
        context: &C) -> Result<DeleteGroupResponse, ApiError>
    {
        info!("delete_group({:?}) - X-Span-ID: {:?}", id, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Get group by id
    async fn get_group_by_id(
        &self,
        id: String,
        context: &C) -> Result<GetGroupByIdResponse, ApiError>
    {
        info!("get_group_by_id({:?}) - X-Span-ID: {:?}", id, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Rename a group
    async fn update_group(
        &self,
        id: String,
        body: models::GroupUpdate,
        context: &C) -> Result<UpdateGroupResponse, ApiError>
    {
        info!("update_group({:?}, {:?}) - X-Span-ID: {:?}", id, body, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Create group membership
    async fn add_group_member(
        &self,
        id: String,
        username: String,
        context: &C) -> Result<AddGroupMemberResponse, ApiError>
    {
        info!("add_group_member({:?}, {:?}) - X-Span-ID: {:?}", id, username, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Remove a group chat
    async fn delete_group_chat(
        &self,
        id: String,
        chat_id: String,
        context: &C) -> Result<DeleteGroupChatResponse, ApiError>
    {
        info!("delete_group_chat({:?}, {:?}) - X-Span-ID: {:?}", id, chat_id, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Delete a group membership
    async fn delete_group_member(
        &self,
        id: String,
        username: String,
        context: &C) -> Result<DeleteGroupMemberResponse, ApiError>
    {
        info!("delete_group_member({:?}, {:?}) - X-Span-ID: {:?}", id, username, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Create invitation to register a new account
    async fn create_invite_for_account(
        &self,
        new_account_invite: Option<models::NewAccountInvite>,
        context: &C) -> Result<CreateInviteForAccountResponse, ApiError>
    {
        info!("create_invite_for_account({:?}) - X-Span-ID: {:?}", new_account_invite, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Create account reset invitation
    async fn create_invite_for_account_reset(
        &self,
        new_reset_invite: models::NewResetInvite,
        context: &C) -> Result<CreateInviteForAccountResetResponse, ApiError>
    {
        info!("create_invite_for_account_reset({:?}) - X-Span-ID: {:?}", new_reset_invite, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Create group invitation
    async fn create_invite_for_group(
        &self,
        new_group_invite: Option<models::NewGroupInvite>,
        context: &C) -> Result<CreateInviteForGroupResponse, ApiError>
    {
        info!("create_invite_for_group({:?}) - X-Span-ID: {:?}", new_group_invite, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// List invites
    async fn list_invites(
        &self,
        limit: Option<u64>,
        after: Option<String>,
        context: &C) -> Result<ListInvitesResponse, ApiError>
    {
        info!("list_invites({:?}, {:?}) - X-Span-ID: {:?}", limit, after, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Delete invite
    async fn delete_invite(
        &self,
        id: String,
        context: &C) -> Result<DeleteInviteResponse, ApiError>
    {
        info!("delete_invite({:?}) - X-Span-ID: {:?}", id, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Get invite by id
    async fn get_invite_by_id(
        &self,
        id: String,
        context: &C) -> Result<GetInviteByIdResponse, ApiError>
    {
        info!("get_invite_by_id({:?}) - X-Span-ID: {:?}", id, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// This API's documentation page
    async fn get_docs_page(
        &self,
        context: &C) -> Result<GetDocsPageResponse, ApiError>
    {
        info!("get_docs_page() - X-Span-ID: {:?}", context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// The docs page's script (Swagger UI)
    async fn get_docs_script(
        &self,
        context: &C) -> Result<GetDocsScriptResponse, ApiError>
    {
        info!("get_docs_script() - X-Span-ID: {:?}", context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// The docs page's style sheet (Swagger UI)
    async fn get_docs_style(
        &self,
        context: &C) -> Result<GetDocsStyleResponse, ApiError>
    {
        info!("get_docs_style() - X-Span-ID: {:?}", context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Liveness
    async fn get_health(
        &self,
        context: &C) -> Result<GetHealthResponse, ApiError>
    {
        info!("get_health() - X-Span-ID: {:?}", context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// This API's contract, in JSON
    async fn get_open_api_json(
        &self,
        context: &C) -> Result<GetOpenApiJsonResponse, ApiError>
    {
        info!("get_open_api_json() - X-Span-ID: {:?}", context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// This API's contract, in YAML
    async fn get_open_api_yaml(
        &self,
        context: &C) -> Result<GetOpenApiYamlResponse, ApiError>
    {
        info!("get_open_api_yaml() - X-Span-ID: {:?}", context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Readiness
    async fn get_readiness(
        &self,
        context: &C) -> Result<GetReadinessResponse, ApiError>
    {
        info!("get_readiness() - X-Span-ID: {:?}", context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Get information about the server
    async fn get_server_info(
        &self,
        context: &C) -> Result<GetServerInfoResponse, ApiError>
    {
        info!("get_server_info() - X-Span-ID: {:?}", context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Usage figures of the server
    async fn get_server_metrics(
        &self,
        context: &C) -> Result<GetServerMetricsResponse, ApiError>
    {
        info!("get_server_metrics() - X-Span-ID: {:?}", context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// This service's own metrics (OpenMetrics)
    async fn get_service_metrics(
        &self,
        context: &C) -> Result<GetServiceMetricsResponse, ApiError>
    {
        info!("get_service_metrics() - X-Span-ID: {:?}", context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Send an announcement to users
    async fn post_server_announcement(
        &self,
        body: models::Announcement,
        context: &C) -> Result<PostServerAnnouncementResponse, ApiError>
    {
        info!("post_server_announcement({:?}) - X-Span-ID: {:?}", body, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// List users
    async fn list_users(
        &self,
        limit: Option<u64>,
        after: Option<String>,
        context: &C) -> Result<ListUsersResponse, ApiError>
    {
        info!("list_users({:?}, {:?}) - X-Span-ID: {:?}", limit, after, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Delete user
    async fn delete_user(
        &self,
        username: String,
        context: &C) -> Result<DeleteUserResponse, ApiError>
    {
        info!("delete_user({:?}) - X-Span-ID: {:?}", username, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// End the user's live sessions
    async fn end_user_sessions(
        &self,
        username: String,
        resource: Option<String>,
        context: &C) -> Result<EndUserSessionsResponse, ApiError>
    {
        info!("end_user_sessions({:?}, {:?}) - X-Span-ID: {:?}", username, resource, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Get user by user name
    async fn get_user_by_name(
        &self,
        username: String,
        context: &C) -> Result<GetUserByNameResponse, ApiError>
    {
        info!("get_user_by_name({:?}) - X-Span-ID: {:?}", username, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Get user debug info
    async fn get_user_debug_info(
        &self,
        username: String,
        context: &C) -> Result<GetUserDebugInfoResponse, ApiError>
    {
        info!("get_user_debug_info({:?}) - X-Span-ID: {:?}", username, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// List groups that user is a member of
    async fn get_user_groups(
        &self,
        username: String,
        context: &C) -> Result<GetUserGroupsResponse, ApiError>
    {
        info!("get_user_groups({:?}) - X-Span-ID: {:?}", username, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Enable or disable a user
    async fn patch_user(
        &self,
        username: String,
        body: models::UserPatch,
        context: &C) -> Result<PatchUserResponse, ApiError>
    {
        info!("patch_user({:?}, {:?}) - X-Span-ID: {:?}", username, body, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

    /// Update user
    async fn update_user(
        &self,
        username: String,
        body: models::User,
        context: &C) -> Result<UpdateUserResponse, ApiError>
    {
        info!("update_user({:?}, {:?}) - X-Span-ID: {:?}", username, body, context.get().0.clone());
        Err(ApiError("Api-Error: Operation is NOT implemented".into()))
    }

}
