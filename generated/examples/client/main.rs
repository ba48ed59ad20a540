#![allow(missing_docs, unused_variables, trivial_casts)]


#[allow(unused_imports)]
use futures::{future, Stream, stream};
#[allow(unused_imports)]
use prosody_admin_api::{Api, ApiNoContext, Claims, Client, ContextWrapperExt, models,
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
use clap::{Command, Arg};

// NOTE: Set environment variable RUST_LOG to the name of the executable (or "cargo run") to activate console logging for all loglevels.
//     See https://docs.rs/env_logger/latest/env_logger/  for more details

#[allow(unused_imports)]
use log::info;

// swagger::Has may be unused if there are no examples
#[allow(unused_imports)]
use swagger::{AuthData, ContextBuilder, EmptyContext, Has, Push, XSpanIdString};

type ClientContext = swagger::make_context_ty!(ContextBuilder, EmptyContext, Option<AuthData>, XSpanIdString);

mod client_auth;
use client_auth::build_token;


// rt may be unused if there are no examples
#[allow(unused_mut)]
fn main() {
    env_logger::init();

    let matches = Command::new("client")
        .arg(Arg::new("operation")
            .help("Sets the operation to run")
            .value_parser(Vec::<&str>::from([
                "ListAuditEntries",
                "EndConsoleSession",
                "GetConsolePage",
                "GetConsoleScript",
                "GetConsoleStyle",
                "ListGroups",
                "CreateInviteForAccount",
                "CreateInviteForGroup",
                "ListInvites",
                "GetDocsPage",
                "GetDocsScript",
                "GetDocsStyle",
                "GetHealth",
                "GetOpenApiJson",
                "GetOpenApiYaml",
                "GetReadiness",
                "GetServerInfo",
                "GetServerMetrics",
                "GetServiceMetrics",
                "ListUsers",
            ]))
            .required(true)
            .index(1))
        .arg(Arg::new("https")
            .long("https")
            .help("Whether to use HTTPS or not"))
        .arg(Arg::new("host")
            .long("host")
            .default_value("localhost")
            .help("Hostname to contact"))
        .arg(Arg::new("port")
            .long("port")
            .value_parser(clap::value_parser!(u16))
            .default_value("8080")
            .help("Port to contact"))
        .get_matches();

    // Create Bearer-token with a fixed key (secret) for test purposes.
    // In a real (production) system this Bearer token should be obtained via an external Identity/Authentication-server
    // Ensure that you set the correct algorithm and encodingkey that matches what is used on the server side.
    // See https://github.com/Keats/jsonwebtoken for more information
    let auth_token = build_token(
            Claims {
                sub: "tester@acme.com".to_owned(),
                company: "ACME".to_owned(),
                iss: "my_identity_provider".to_owned(),
                // added a very long expiry time
                aud: "org.acme.Resource_Server".to_string(),
                exp: 10000000000,
                // In this example code all available Scopes are added, so the current Bearer Token gets fully authorization.
                scopes:
                  "".to_owned()
            },
            b"secret").unwrap();

    let auth_data = if !auth_token.is_empty() {
        Some(AuthData::Bearer(auth_token))
    } else {
        // No Bearer-token available, so return None
        None
    };

    let is_https = matches.contains_id("https");
    let base_url = format!("{}://{}:{}",
        if is_https { "https" } else { "http" },
        matches.get_one::<String>("host").unwrap(),
        matches.get_one::<u16>("port").unwrap());

    let context: ClientContext =
        swagger::make_context!(ContextBuilder, EmptyContext, auth_data, XSpanIdString::default());

    let mut client : Box<dyn ApiNoContext<ClientContext>> = {
        #[cfg(feature = "client-tls")]
        {
            if is_https {
                // Using HTTPS with native-tls
                let client = Box::new(Client::try_new_https(&base_url)
                    .expect("Failed to create HTTPS client"));
                Box::new(client.with_context(context))
            } else {
                // Using HTTP
                let client = Box::new(Client::try_new_http(&base_url)
                    .expect("Failed to create HTTP client"));
                Box::new(client.with_context(context))
            }
        }

        #[cfg(not(feature = "client-tls"))]
        {
            if is_https {
                panic!("HTTPS requested but TLS support not enabled. \
                        Enable the 'client-tls' feature to use HTTPS.");
            }
            // Using HTTP only
            let client = Box::new(Client::try_new_http(&base_url)
                .expect("Failed to create HTTP client"));
            Box::new(client.with_context(context))
        }
    };

    let mut rt = tokio::runtime::Runtime::new().unwrap();

    match matches.get_one::<String>("operation").map(String::as_str) {
        Some("ListAuditEntries") => {
            let result = rt.block_on(client.list_audit_entries(
                  Some(0),
                  None,
                  None,
                  None,
                  Some(0),
                  Some(0)
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        /* Disabled because there's no example.
        Some("CreateConsoleSession") => {
            let result = rt.block_on(client.create_console_session(
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        Some("EndConsoleSession") => {
            let result = rt.block_on(client.end_console_session(
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        Some("GetConsolePage") => {
            let result = rt.block_on(client.get_console_page(
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        Some("GetConsoleScript") => {
            let result = rt.block_on(client.get_console_script(
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        Some("GetConsoleStyle") => {
            let result = rt.block_on(client.get_console_style(
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        /* Disabled because there's no example.
        Some("CreateGroup") => {
            let result = rt.block_on(client.create_group(
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        Some("ListGroups") => {
            let result = rt.block_on(client.list_groups(
                  Some(0),
                  None
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        /* Disabled because there's no example.
        Some("CreateGroupChat") => {
            let result = rt.block_on(client.create_group_chat(
                  ???,
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        /* Disabled because there's no example.
        Some("DeleteGroup") => {
            let result = rt.block_on(client.delete_group(
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        /* Disabled because there's no example.
        Some("GetGroupById") => {
            let result = rt.block_on(client.get_group_by_id(
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        /* Disabled because there's no example.
        Some("UpdateGroup") => {
            let result = rt.block_on(client.update_group(
                  ???,
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        /* Disabled because there's no example.
        Some("AddGroupMember") => {
            let result = rt.block_on(client.add_group_member(
                  ???,
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        /* Disabled because there's no example.
        Some("DeleteGroupChat") => {
            let result = rt.block_on(client.delete_group_chat(
                  ???,
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        /* Disabled because there's no example.
        Some("DeleteGroupMember") => {
            let result = rt.block_on(client.delete_group_member(
                  ???,
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        Some("CreateInviteForAccount") => {
            let result = rt.block_on(client.create_invite_for_account(
                  None
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        /* Disabled because there's no example.
        Some("CreateInviteForAccountReset") => {
            let result = rt.block_on(client.create_invite_for_account_reset(
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        Some("CreateInviteForGroup") => {
            let result = rt.block_on(client.create_invite_for_group(
                  None
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        Some("ListInvites") => {
            let result = rt.block_on(client.list_invites(
                  Some(0),
                  None
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        /* Disabled because there's no example.
        Some("DeleteInvite") => {
            let result = rt.block_on(client.delete_invite(
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        /* Disabled because there's no example.
        Some("GetInviteById") => {
            let result = rt.block_on(client.get_invite_by_id(
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        Some("GetDocsPage") => {
            let result = rt.block_on(client.get_docs_page(
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        Some("GetDocsScript") => {
            let result = rt.block_on(client.get_docs_script(
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        Some("GetDocsStyle") => {
            let result = rt.block_on(client.get_docs_style(
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        Some("GetHealth") => {
            let result = rt.block_on(client.get_health(
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        Some("GetOpenApiJson") => {
            let result = rt.block_on(client.get_open_api_json(
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        Some("GetOpenApiYaml") => {
            let result = rt.block_on(client.get_open_api_yaml(
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        Some("GetReadiness") => {
            let result = rt.block_on(client.get_readiness(
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        Some("GetServerInfo") => {
            let result = rt.block_on(client.get_server_info(
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        Some("GetServerMetrics") => {
            let result = rt.block_on(client.get_server_metrics(
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        Some("GetServiceMetrics") => {
            let result = rt.block_on(client.get_service_metrics(
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        /* Disabled because there's no example.
        Some("PostServerAnnouncement") => {
            let result = rt.block_on(client.post_server_announcement(
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        Some("ListUsers") => {
            let result = rt.block_on(client.list_users(
                  Some(0),
                  None
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        /* Disabled because there's no example.
        Some("DeleteUser") => {
            let result = rt.block_on(client.delete_user(
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        /* Disabled because there's no example.
        Some("EndUserSessions") => {
            let result = rt.block_on(client.end_user_sessions(
                  ???,
                  None
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        /* Disabled because there's no example.
        Some("GetUserByName") => {
            let result = rt.block_on(client.get_user_by_name(
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        /* Disabled because there's no example.
        Some("GetUserDebugInfo") => {
            let result = rt.block_on(client.get_user_debug_info(
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        /* Disabled because there's no example.
        Some("GetUserGroups") => {
            let result = rt.block_on(client.get_user_groups(
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        /* Disabled because there's no example.
        Some("PatchUser") => {
            let result = rt.block_on(client.patch_user(
                  ???,
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        /* Disabled because there's no example.
        Some("UpdateUser") => {
            let result = rt.block_on(client.update_user(
                  ???,
                  ???
            ));
            info!("{:?} (X-Span-ID: {:?})", result, (client.context() as &dyn Has<XSpanIdString>).get().clone());
        },
        */
        _ => {
            panic!("Invalid operation provided")
        }
    }
}
