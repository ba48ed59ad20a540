//! The `prosody-admin` command line.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use backend::username::Username;
use backend::{Backend, Store};
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::{Config, BOOTSTRAP_ADMIN};
use crate::options::{self, LogFormat, On, Options, Source};
use crate::sites::Server;
use crate::tasks::{self, GroupCommand, InviteCommand};
use crate::tls::Tls;
use crate::{conn, http, monitor};

#[derive(Debug, Parser)]
#[command(
    name = "prosody-admin",
    version,
    about = "Prosody's administration REST API (/admin_api) on Prosody's own storage (SQLite, PostgreSQL or its \
             flat files), with a live path to the running Prosody through its admin socket"
)]
struct Cli {
    /// Our TOML configuration file (keys as the settings' names: `database`, `admins`, ...)
    #[arg(long, short = 'c', env = "PROSODY_ADMIN_CONFIG", global = true)]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (on first start with an empty database, create an admin and a token)
    Serve,
    /// Manage bearer tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage user accounts
    #[command(subcommand)]
    User(UserCommand),
    /// Manage invites (print a URI and a QR code to hand to someone)
    #[command(subcommand)]
    Invite(InviteCommand),
    /// Manage groups
    #[command(subcommand)]
    Group(GroupCommand),
    /// Read every stored file as prosody-admin reads it (Prosody's flat files: every
    /// .dat and .list under data_path) and list those it cannot; exit 1 if any
    Check,
    /// Print every setting as resolved from every layer (flags, variables, our TOML file,
    /// Prosody's config, defaults), with where each came from (secrets masked); opens no
    /// database
    Config {
        /// Print the settings as one JSON object: {name: {value, source, from, scope}}
        #[arg(long)]
        json: bool,
    },
    /// Exit 0 when the service on `listen` answers GET /admin_api/readyz with 200 (the
    /// container image's health check); opens no database
    Health,
    /// Show the audit log, newest first (what GET /audit shows)
    Audit {
        /// Entries to show [default: 100, at most 1000]
        #[arg(long)]
        limit: Option<u64>,
        /// Show entries older than this cursor (the `next` printed by a previous page)
        #[arg(long)]
        before: Option<String>,
        /// Print the page as JSON (as GET /audit answers it)
        #[arg(long)]
        json: bool,
        /// Only entries of this actor (a JID, or a local user for the CLI's)
        #[arg(long)]
        actor: Option<String>,
        /// Only entries of this operation (an operationId, or a command such as "user add")
        #[arg(long)]
        operation: Option<String>,
        /// Only entries at or after this time (Unix seconds)
        #[arg(long)]
        since: Option<i64>,
        /// Only entries at or before this time (Unix seconds)
        #[arg(long)]
        until: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an admin bearer token for a user and print it (0.12: scope
    /// prosody:scope:admin; 13: a grant with one token of role prosody:admin)
    Create {
        /// The token's owner (must be an admin to use the API)
        #[arg(long)]
        user: String,
        /// Lifetime in seconds (default: until revoked)
        #[arg(long)]
        ttl: Option<u64>,
        /// Mint it even for an account that may not administer (the API answers its
        /// token 403; for testing what a non-admin sees)
        #[arg(long)]
        allow_non_admin: bool,
    },
    /// List the tokens of this host (owners, scopes or roles, dates; never the secrets)
    List,
    /// Revoke a token
    Revoke {
        /// The token, as clients send it
        token: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account (password: first line of stdin, or generated and printed)
    Add {
        name: String,
        /// Also make the account an admin (0.12: role prosody:admin; 13: primary role prosody:admin)
        #[arg(long)]
        admin: bool,
    },
    /// Set an account's password (first line of stdin, or generated and printed)
    Passwd { name: String },
    /// List accounts (name, roles, groups)
    List {
        /// Print the list as the API's JSON
        #[arg(long)]
        json: bool,
        /// Every enabled VirtualHost of the Prosody config, each account as user@host
        /// (JSON: one array, each with its `jid`)
        #[arg(long)]
        all_hosts: bool,
    },
    /// Delete an account and its data
    Delete { name: String },
    /// Set an account's role (13: its primary role; 0.12: its only role)
    Role {
        name: String,
        /// e.g. prosody:member, prosody:admin
        role: String,
    },
}

/// `--version`: the package version, the contract's version and the commit built (see
/// src/build.rs: PROSODY_ADMIN_COMMIT, else git).
fn version() -> String {
    format!(
        "{} (spec {}, commit {})",
        env!("CARGO_PKG_VERSION"),
        backend::contract::spec_version(),
        env!("PROSODY_ADMIN_COMMIT")
    )
}

/// The command line: the subcommands (derived) and every setting's flag (from the
/// declarations: global ones everywhere, `serve`'s on `serve` and `config`).
pub fn command() -> clap::Command {
    Cli::command()
        .version(version())
        .args(options::args(On::All))
        .mut_subcommand("serve", |c| c.args(options::args(On::Serve)))
        .mut_subcommand("config", |c| c.args(options::args(On::Serve)))
        .mut_subcommand("health", |c| c.args(options::args(On::Serve)))
}

/// The matches of the subcommand run (global flags are visible there too).
fn leaf(m: &ArgMatches) -> &ArgMatches {
    match m.subcommand() {
        Some((_, sub)) => leaf(sub),
        None => m,
    }
}

/// Every setting from the command line `args` (and the environment, the TOML file and
/// Prosody's config it names): the options, and the configuration they make.
pub fn resolve<I, T>(args: I) -> anyhow::Result<(Options, Config)>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    let cli = Cli::from_arg_matches(&matches)?;
    resolve_matches(&matches, &cli).map(|(mut all, c)| (all.swap_remove(0), c))
}

/// The options of every host the command acts on (`serve` and `config`: every enabled
/// VirtualHost of a Prosody config, unless `--host` chooses one; the other commands act
/// on one host, and with several a Prosody config's error names them), and the
/// configuration they make.
fn resolve_matches(matches: &ArgMatches, cli: &Cli) -> anyhow::Result<(Vec<Options>, Config)> {
    let every_host = matches!(
        cli.command,
        Command::Serve | Command::Config { .. } | Command::User(UserCommand::List { all_hosts: true, .. })
    );
    let (all, pc) = if every_host {
        options::resolve_hosts(Some(leaf(matches)), cli.config.as_deref())?
    } else {
        let (o, pc) = options::resolve(Some(leaf(matches)), cli.config.as_deref())?;
        (vec![o], pc)
    };
    let config = Config::from_hosts(&all, pc.map(|pc| pc.path))?;
    Ok((all, config))
}

pub fn main() -> ExitCode {
    let matches = command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let resolved = resolve_matches(&matches, &cli);
    let json_logs = matches!(&resolved, Ok((o, _)) if o.first().is_some_and(|o| o.log_format == LogFormat::Json));
    let mut logger = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if json_logs {
        logger.format(|buf, record| {
            let line = serde_json::json!({
                "time": buf.timestamp_micros().to_string(),
                "level": record.level().as_str(),
                "target": record.target(),
                "message": bounded(&record.args().to_string()),
            });
            writeln!(buf, "{line}")
        });
    } else {
        // One line per record, whatever a message quotes: control characters escaped.
        logger.format(|buf, record| {
            let mut message = String::new();
            for c in bounded(&record.args().to_string()).chars() {
                if c.is_control() {
                    message.extend(c.escape_default());
                } else {
                    message.push(c);
                }
            }
            writeln!(buf, "[{} {:<5} {}] {message}", buf.timestamp(), record.level(), record.target())
        });
    }
    logger.init();
    // A reload (SIGHUP) resolves the same command line again: Prosody's config and our
    // file are read afresh.
    let again = move || {
        let cli = Cli::from_arg_matches(&matches)?;
        resolve_matches(&matches, &cli).map(|(_, c)| c)
    };
    match resolved.and_then(|(o, config)| run(cli, o, config, again)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("prosody-admin: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Longest message logged (what a client sent can be quoted in one: a JSON key, a path).
const MAX_LOGGED: usize = 2048;

/// A message cut at [`MAX_LOGGED`] bytes (at a character boundary), saying how much went.
fn bounded(message: &str) -> std::borrow::Cow<'_, str> {
    if message.len() <= MAX_LOGGED {
        return message.into();
    }
    let mut end = MAX_LOGGED;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &message[..end], message.len() - end).into()
}

fn run(
    cli: Cli,
    options: Vec<Options>,
    config: Config,
    again: impl Fn() -> anyhow::Result<Config> + Send + Sync + 'static,
) -> anyhow::Result<()> {
    if let Command::Config { json } = cli.command {
        print!("{}", options::render_hosts(&options, json));
        return Ok(());
    }
    for o in &options {
        for (setting, source) in &o.sources {
            if *source != Source::Default {
                log::info!("{}: {setting}: from {source}", o.host.0);
            }
        }
    }
    if let Command::Health = cli.command {
        return health(config.listen);
    }
    if let Command::User(UserCommand::List { json, all_hosts: true }) = cli.command {
        return tasks::user_list(&all_backends(&config)?, json);
    }
    let s = &config.settings;
    let store = Store::open_at(&config.database, &s.host, &s.groups_muc_host, config.prosody_version)
        .with_context(|| config.database.to_string())?;
    log::info!("{}: Prosody {} layout", config.database, store.version());
    let backend = match &cli.command {
        Command::Serve => Backend::new(store, config.settings.clone()),
        // A command's writes are audited: the local user, marked as the CLI.
        command => Backend::for_cli(store, config.settings.clone(), cli_record(command)),
    };
    match cli.command {
        Command::Serve => serve(config, backend, again),
        Command::Token(t) => token(&backend, t),
        Command::User(u) => user(&backend, u),
        Command::Audit { limit, before, json, actor, operation, since, until } => {
            audit(&backend, limit, before, json, backend::audit::Filter { actor, operation, since, until })
        }
        Command::Config { .. } | Command::Health => Ok(()),
        Command::Check => {
            let (n, bad) = backend.store().check()?;
            for b in &bad {
                println!("unreadable: {b}");
            }
            println!("{n} files read, {} unreadable", bad.len());
            if bad.is_empty() {
                Ok(())
            } else {
                Err(anyhow!("{} unreadable files", bad.len()))
            }
        }
        Command::Invite(i) => tasks::invite(&backend, i),
        Command::Group(g) => tasks::group(&backend, g),
    }
}

/// GET /admin_api/readyz on the service at `listen` (an unspecified address: loopback),
/// within 3 s: Ok when it answers 200.
fn health(listen: std::net::SocketAddr) -> anyhow::Result<()> {
    use std::io::Read as _;
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let limit = Duration::from_secs(3);
    let mut s = std::net::TcpStream::connect_timeout(&addr, limit).with_context(|| format!("{addr}"))?;
    s.set_read_timeout(Some(limit))?;
    s.set_write_timeout(Some(limit))?;
    write!(s, "GET {}/readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n", http::BASE_PATH)?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head)?;
    if &head[9..12] == b"200" {
        println!("ready");
        Ok(())
    } else {
        Err(anyhow!("{addr}: not ready ({})", String::from_utf8_lossy(&head).trim()))
    }
}

/// A backend for every host of `config`, hosts on one database sharing its engine.
fn all_backends(config: &Config) -> anyhow::Result<Vec<Backend>> {
    let mut dbs = crate::sites::Databases::default();
    config
        .hosts
        .iter()
        .map(|h| {
            let s = &h.settings;
            let (store, _) = dbs.handle(&h.database, &s.host, &s.groups_muc_host, config.prosody_version)?;
            Ok(Backend::new(store, s.clone()))
        })
        .collect()
}

/// The audit record of a command: who ran it (the local user), what and on what (never
/// a token or a password).
fn cli_record(command: &Command) -> backend::audit::AuditRecord {
    let s = |op: &str, target: String| (op.to_string(), target);
    let (operation, target) = match command {
        Command::Token(TokenCommand::Create { user, .. }) => s("token create", user.clone()),
        Command::Token(TokenCommand::Revoke { .. }) => s("token revoke", String::new()),
        Command::Token(TokenCommand::List) => s("token list", String::new()),
        Command::User(UserCommand::Add { name, .. }) => s("user add", name.clone()),
        Command::User(UserCommand::Passwd { name }) => s("user passwd", name.clone()),
        Command::User(UserCommand::Delete { name }) => s("user delete", name.clone()),
        Command::User(UserCommand::Role { name, role }) => s("user role", format!("{name} {role}")),
        Command::User(UserCommand::List { .. }) => s("user list", String::new()),
        Command::Invite(i) => tasks::describe_invite(i),
        Command::Group(g) => tasks::describe_group(g),
        Command::Audit { .. } | Command::Config { .. } | Command::Check | Command::Serve | Command::Health => {
            s("", String::new())
        }
    };
    backend::audit::AuditRecord {
        actor: local_user(),
        token_id: None,
        client: "cli".into(),
        operation,
        method: "CLI".into(),
        target,
        outcome: backend::audit::SUCCESS.into(),
        status: None,
    }
}

/// The user running the command: `$USER` (or `$LOGNAME`), else the numeric uid.
fn local_user() -> String {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).ok().filter(|u| !u.is_empty()).unwrap_or_else(|| {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").map(|m| format!("uid {}", m.uid())).unwrap_or_else(|_| "unknown".into())
    })
}

fn serve(
    config: Config,
    backend: Backend,
    again: impl Fn() -> anyhow::Result<Config> + Send + Sync + 'static,
) -> anyhow::Result<()> {
    // Beside an existing Prosody its own admins administer: no account of ours is made
    // in its database.
    if config.prosody_config.is_none() {
        bootstrap(&config, &backend)?;
    }
    // Every host served, each on its database (hosts naming one share it).
    let server = Arc::new(Server::start(&config, backend)?);
    let hosts: Vec<String> = server.sites().all.iter().map(|s| s.host().to_string()).collect();
    if hosts.len() > 1 {
        log::info!("serving {} VirtualHosts: {}", hosts.len(), hosts.join(", "));
    }
    // SQLite work runs on the blocking pool; the connection pool has a few connections,
    // so more blocking threads would only wait for one (and each costs memory).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(backend::storage::POOL_SIZE as usize * 2 * hosts.len().clamp(1, 8))
        .build()?;
    // The last handle on the storage is dropped here, after the runtime: a PostgreSQL
    // connection closes with a blocking call, which must not run on a runtime thread.
    let storage = server.clone();
    let out = rt.block_on(async move {
        let tls = config.http.tls.as_ref().map(Tls::new).transpose()?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
        let addr = listener.local_addr()?;
        if tls.is_none() && !addr.ip().is_loopback() {
            log::warn!(
                "serving plain HTTP on {addr}, not loopback: bearer tokens cross the network in clear; \
                 set tls_cert/tls_key or put a TLS reverse proxy in front"
            );
        }
        tokio::spawn(reload_on_sighup(tls.clone(), server.clone(), config.prosody_config.is_some(), again));
        if let Some(m) = config.metrics_listen {
            let l = tokio::net::TcpListener::bind(m).await.map_err(|e| anyhow::anyhow!("cannot listen on {m}: {e}"))?;
            let a = l.local_addr()?;
            println!("prosody-admin metrics on http://{a}/metrics");
            if let Some(first) = server.sites().first() {
                tokio::spawn(monitor::serve(l, first.backend.clone()));
            }
        }
        let scheme = if tls.is_some() { "https" } else { "http" };
        // Tests and scripts wait for this line (stdout).
        println!("prosody-admin listening on {scheme}://{addr}{}", http::BASE_PATH);
        if server.sites().first().is_some_and(|s| s.backend.settings().console) {
            println!("prosody-admin console at {scheme}://{addr}{}/console/", http::BASE_PATH);
        }
        let _ = std::io::stdout().flush();
        let app = http::App::new(server, config.http.clone());
        conn::serve(listener, tls, app, config.http, conn::shutdown_signal(), Duration::from_secs(10))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    });
    drop(rt);
    drop(storage);
    out
}

/// On each SIGHUP (the unit's `systemctl reload`): the certificate and key are read
/// again (new handshakes get them), and with a Prosody config, the settings are
/// resolved again as `prosodyctl reload` makes Prosody re-read its config: hosts added
/// or removed, admins, roles, invite pages take effect for new requests. A config that
/// fails keeps what runs, and the log says why (the file and line, where Lua says it).
async fn reload_on_sighup(
    tls: Option<Tls>,
    server: Arc<Server>,
    settings_too: bool,
    again: impl Fn() -> anyhow::Result<Config> + Send + Sync + 'static,
) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            log::warn!("cannot watch SIGHUP: nothing will be reloaded");
            return;
        };
        let again = Arc::new(again);
        while hup.recv().await.is_some() {
            if let Some(tls) = &tls {
                match tls.reload() {
                    Ok(()) => log::info!("TLS certificate reloaded"),
                    Err(e) => log::error!("TLS certificate not reloaded (keeping the previous one): {e}"),
                }
            }
            if !settings_too {
                continue;
            }
            // Evaluating the config and opening databases block: off the runtime.
            let (server, again) = (server.clone(), again.clone());
            let done = tokio::task::spawn_blocking(move || {
                let config = again()?;
                let old = server.reload(&config)?;
                let hosts: Vec<String> = server.sites().all.iter().map(|s| s.host().to_string()).collect();
                Ok::<_, anyhow::Error>((old, hosts))
            })
            .await;
            match done {
                Ok(Ok((old, hosts))) => {
                    log::info!("reloaded: serving {}", hosts.join(", "));
                    // Requests that started on the old set finish on it; its last
                    // handles (a removed host's database) close off the runtime.
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        let _ = tokio::task::spawn_blocking(move || drop(old)).await;
                    });
                }
                Ok(Err(e)) => log::error!("not reloaded (the running settings stay): {e:#}"),
                Err(e) => log::error!("not reloaded (the running settings stay): {e}"),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (tls, server, settings_too, again);
}

/// First start on a database without accounts on this host: an admin and its token.
fn bootstrap(config: &Config, backend: &Backend) -> anyhow::Result<()> {
    let admin = Username::parse(BOOTSTRAP_ADMIN)?;
    let Some(b) = backend.bootstrap(&admin)? else {
        return Ok(());
    };
    let path = config.token_file();
    let host = &config.settings.host;
    println!("First start: created admin account {}@{host} (password: {})", b.username, b.password);
    let written = write_private(&path, &format!("{}\n", b.token));
    match &written {
        Ok(()) => println!("Admin bearer token (also written to {}):\n{}", path.display(), b.token),
        Err(_) => println!("Admin bearer token (not written to {}):\n{}", path.display(), b.token),
    }
    written.map_err(|e| {
        anyhow::anyhow!(
            "cannot create {} ({e}): the token above was not written there; remove what is at that path (a file \
             of an earlier first start, or a link) and keep the token printed above",
            path.display()
        )
    })
}

/// Writes a new file only its owner can read (0600): created exclusively, so never
/// through an existing file or a link (whose owner would keep it and its mode).
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())
}

fn token(backend: &Backend, cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create { user, ttl, allow_non_admin } => {
            let u = Username::parse(&user)?;
            let t = backend.create_token(&u, ttl, allow_non_admin)?;
            if let Some(w) = t.warning {
                eprintln!("prosody-admin: warning: {w}");
            }
            println!("{}", t.token);
        }
        TokenCommand::List => {
            for t in backend.list_tokens()? {
                let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_else(|| "-".into());
                println!(
                    "{}\tscope={}\tcreated={}\texpires={}\tpurpose={}",
                    t.owner,
                    t.scope.as_deref().unwrap_or("-"),
                    opt(t.created),
                    opt(t.expires),
                    t.purpose.as_deref().unwrap_or("-")
                );
            }
        }
        TokenCommand::Revoke { token } => {
            if !backend.revoke_token(&token)? {
                return Err(anyhow::anyhow!("no such token"));
            }
            println!("revoked");
        }
    }
    Ok(())
}

/// The password from the first line of stdin, or a generated one (printed).
fn password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        let line = line.trim_end_matches(['\r', '\n']);
        if !line.is_empty() {
            return Ok(line.to_string());
        }
    }
    let p = backend::ids::password()?;
    println!("generated password: {p}");
    Ok(p)
}

fn user(backend: &Backend, cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add { name, admin } => {
            let u = Username::parse(&name)?;
            let p = password()?;
            backend.add_user(&u, &p)?;
            if admin {
                backend.grant_admin(&u)?;
            }
            println!("created {u}@{}", backend.settings().host);
        }
        UserCommand::Passwd { name } => {
            let u = Username::parse(&name)?;
            let p = password()?;
            tasks::block(backend.set_password(u.clone(), &p))?;
            println!("password changed for {u}@{}", backend.settings().host);
        }
        UserCommand::List { json, .. } => tasks::user_list(std::slice::from_ref(backend), json)?,
        UserCommand::Delete { name } => tasks::user_delete(backend, &name)?,
        UserCommand::Role { name, role } => tasks::user_role(backend, &name, &role)?,
    }
    Ok(())
}

fn audit(
    backend: &Backend,
    limit: Option<u64>,
    before: Option<String>,
    json: bool,
    filter: backend::audit::Filter,
) -> anyhow::Result<()> {
    let page = backend.audit_page_blocking(limit, before, filter)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(());
    }
    for e in &page.entries {
        let status = e.status.map(|s| format!(" {s}")).unwrap_or_default();
        println!(
            "{}\t{}\t{}\t{}\t{} {}\t{}{status}\ttoken={}",
            e.time,
            e.actor,
            e.client,
            e.operation,
            e.method,
            e.target,
            e.outcome,
            e.token_id.as_deref().unwrap_or("-")
        );
    }
    if let Some(n) = page.next {
        println!("more: --before {n}");
    }
    Ok(())
}
