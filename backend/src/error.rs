//! Request failures and their JSON body (util.error style).

use prosody_admin_api::models;

use crate::storage::StoreError;

/// Why an operation did not succeed. Each maps to one declared response of the spec;
/// `Internal` is the only one that becomes a 500, and is logged with its cause.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    BadRequest(String),
    NotFound(String),
    Conflict(String),
    Internal(String),
    /// A rejection the later module names with an application condition.
    App(App, String),
}

/// The later mod_http_admin_api's application conditions (util.error's `extra`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    UserNotFound,
    GroupNotFound,
    GroupNameRequired,
    CannotRemoveOnlyAdmin,
}

/// The namespace of those conditions.
pub const APP_NAMESPACE: &str = "https://prosody.im/protocol/errors";

impl App {
    pub fn status(self) -> u16 {
        match self {
            App::UserNotFound | App::GroupNotFound => 404,
            App::GroupNameRequired => 400,
            App::CannotRemoveOnlyAdmin => 409,
        }
    }

    /// The later module's condition (`extra.condition`); None where it has none: the
    /// last admin's demotion is a plain `conflict` (Prose's client, which maps
    /// `extra.condition` first, knows no other).
    pub fn extra_condition(self) -> Option<&'static str> {
        match self {
            App::UserNotFound => Some("user-not-found"),
            App::GroupNotFound => Some("group-not-found"),
            App::GroupNameRequired => Some("group-name-required"),
            App::CannotRemoveOnlyAdmin => None,
        }
    }
}

impl Failure {
    pub fn user_not_found(user: impl std::fmt::Display) -> Failure {
        Failure::App(App::UserNotFound, format!("user {user} not found"))
    }

    pub fn group_not_found(gid: &str) -> Failure {
        Failure::App(App::GroupNotFound, format!("group {gid:?} not found"))
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Internal(e.to_string())
    }
}

/// Text that cannot go into a stanza or payload (validation refuses it first; this is
/// the builder's own guard).
impl From<crate::xml::Unrepresentable> for Failure {
    fn from(e: crate::xml::Unrepresentable) -> Self {
        Failure::BadRequest(e.to_string())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::BadRequest(t)
            | Failure::NotFound(t)
            | Failure::Conflict(t)
            | Failure::Internal(t)
            | Failure::App(_, t) => f.write_str(t),
        }
    }
}

impl std::error::Error for Failure {}

/// The `Error` body for an HTTP status, in util.error's vocabulary.
pub fn error_body(status: u16, text: impl Into<String>) -> models::Error {
    let (ty, condition) = match status {
        400 => ("modify", "bad-request"),
        401 => ("auth", "not-authorized"),
        403 => ("auth", "forbidden"),
        404 => ("cancel", "item-not-found"),
        405 => ("cancel", "not-allowed"),
        409 => ("cancel", "conflict"),
        413 => ("modify", "policy-violation"),
        501 => ("cancel", "feature-not-implemented"),
        503 => ("wait", "service-unavailable"),
        _ if status >= 500 => ("wait", "internal-server-error"),
        _ => ("modify", "bad-request"),
    };
    let detail =
        models::ErrorDetail::new(SOURCE.to_string(), status as i64, ty.to_string(), condition.to_string(), text.into());
    models::Error::new(models::ErrorType::Error, status as i64, detail)
}

/// `error.source`: the module name mod_rest gives (what Prose's client requires).
pub const SOURCE: &str = "http_admin_api";

/// The `Error` body of an application condition: the status's vocabulary, plus `extra`
/// where the later module has one (clients map `extra.condition` before `condition`,
/// so a condition no client knows is left out: the status's own stands).
pub fn app_error_body(app: App, text: impl Into<String>) -> models::Error {
    let mut e = error_body(app.status(), text);
    if let Some(condition) = app.extra_condition() {
        e.error.extra = Some(models::ErrorDetailExtra::new(APP_NAMESPACE.to_string(), condition.to_string()));
    }
    e
}
