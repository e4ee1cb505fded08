//! ARM failures, carrying what was being done to which object, ARM's own
//! error code and ids, and turned into diagnostics an operator can act on.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// ARM's error object (`{"error":{code,message,target,details,additionalInfo}}`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct ErrorDetail {
    /// Machine-readable code, e.g. `AnotherOperationInProgress`.
    #[serde(default)]
    pub code: String,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// The property at fault, if ARM names one.
    #[serde(default)]
    pub target: Option<String>,
    /// Nested errors.
    #[serde(default)]
    pub details: Vec<ErrorDetail>,
}

#[derive(Deserialize)]
struct Envelope {
    error: Option<ErrorDetail>,
}

impl ErrorDetail {
    /// Reads the envelope (or a bare error object) from a response body.
    pub fn from_body(body: &[u8]) -> Option<ErrorDetail> {
        if let Ok(Envelope { error: Some(e) }) = serde_json::from_slice::<Envelope>(body) {
            return Some(e);
        }
        serde_json::from_slice::<ErrorDetail>(body).ok().filter(|e| !e.code.is_empty())
    }

    /// True if this code, or any nested one, is `code` (case-insensitive).
    pub fn has_code(&self, code: &str) -> bool {
        self.code.eq_ignore_ascii_case(code) || self.details.iter().any(|d| d.has_code(code))
    }

    /// AKS's `OperationNotAllowed` for another operation still running on the
    /// cluster or a pool ("Another operation (Updating) is in progress",
    /// "there's an in progress update managed cluster operation"): the same
    /// code also reports quota and SKU refusals, so only the words tell.
    pub fn is_operation_in_progress(&self) -> bool {
        self.has_code("OperationNotAllowed") && self.message.to_ascii_lowercase().contains("in progress")
    }

    fn render(&self, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        out.push_str(&format!("{pad}{}: {}", self.code, self.message));
        if let Some(t) = self.target.as_deref().filter(|t| !t.is_empty()) {
            out.push_str(&format!(" (target: {t})"));
        }
        out.push('\n');
        for d in &self.details {
            d.render(depth + 1, out);
        }
    }
}

/// What went wrong.
#[derive(Clone, Debug, PartialEq)]
pub enum ArmErrorKind {
    /// ARM answered with an error status.
    Response {
        /// HTTP status.
        status: u16,
        /// ARM's error.
        error: ErrorDetail,
    },
    /// A long-running operation ended `Failed` or `Canceled`.
    OperationFailed {
        /// `Failed` or `Canceled`.
        status: String,
        /// ARM's error.
        error: ErrorDetail,
    },
    /// The connection failed and retries ran out.
    Transport(String),
    /// The operation's timeout passed.
    Timeout(Duration),
    /// Terraform asked the provider to stop.
    Cancelled,
    /// No credential could produce a token.
    Auth(String),
    /// A response ARM should not have sent.
    Protocol(String),
}

/// An ARM failure with its context.
#[derive(Clone, Debug, PartialEq)]
pub struct ArmError {
    /// What was being done: `creating`, `reading`, `deleting`, …
    pub action: String,
    /// Which object, readable (`Subnet "x" (Virtual Network "y", …)`).
    pub resource: String,
    /// What happened.
    pub kind: ArmErrorKind,
    /// `x-ms-request-id` of the failing response.
    pub request_id: Option<String>,
    /// `x-ms-correlation-request-id`.
    pub correlation_id: Option<String>,
}

impl ArmError {
    /// What `action` on `resource` (readable, see [`crate::ResourceId::display`]) ran into.
    pub fn new(action: &str, resource: &str, kind: ArmErrorKind) -> ArmError {
        ArmError { action: action.to_owned(), resource: resource.to_owned(), kind, request_id: None, correlation_id: None }
    }

    /// A response ARM should not have sent (or that lacks what the caller
    /// needs) while `op` acted on `id`.
    pub fn protocol(op: &crate::Op, id: &crate::ResourceId, what: impl Into<String>) -> ArmError {
        ArmError::new(op.action, &id.display(), ArmErrorKind::Protocol(what.into()))
    }

    /// With the ids of the response that failed, for support cases.
    pub fn with_ids(mut self, request_id: Option<&str>, correlation_id: Option<&str>) -> ArmError {
        self.request_id = request_id.map(str::to_owned);
        self.correlation_id = correlation_id.map(str::to_owned);
        self
    }

    /// ARM's error code, if ARM gave one.
    pub fn code(&self) -> Option<&str> {
        match &self.kind {
            ArmErrorKind::Response { error, .. } | ArmErrorKind::OperationFailed { error, .. } => Some(error.code.as_str()),
            _ => None,
        }
    }

    /// True if ARM's error (or a nested one) has this code.
    pub fn has_code(&self, code: &str) -> bool {
        match &self.kind {
            ArmErrorKind::Response { error, .. } | ArmErrorKind::OperationFailed { error, .. } => error.has_code(code),
            _ => false,
        }
    }

    /// HTTP status of an error response.
    pub fn status(&self) -> Option<u16> {
        match &self.kind {
            ArmErrorKind::Response { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// One-line summary: `creating Subnet "x" (…): ARM AnotherOperationInProgress`.
    pub fn summary(&self) -> String {
        let what = match &self.kind {
            ArmErrorKind::Response { status, error } => format!("ARM {} (HTTP {status})", nonempty(&error.code, "error")),
            ArmErrorKind::OperationFailed { status, error } => format!("operation {status}: {}", nonempty(&error.code, "no code")),
            ArmErrorKind::Transport(_) => "connection to ARM failed".into(),
            ArmErrorKind::Timeout(d) => format!("timed out after {}", fmt_duration(*d)),
            ArmErrorKind::Cancelled => "interrupted".into(),
            ArmErrorKind::Auth(_) => "authentication failed".into(),
            ArmErrorKind::Protocol(_) => "unexpected response from ARM".into(),
        };
        format!("{} {}: {what}", self.action, self.resource)
    }

    /// The full detail: message, nested errors, ids, and a hint.
    pub fn detail(&self) -> String {
        let mut out = String::new();
        match &self.kind {
            ArmErrorKind::Response { error, .. } | ArmErrorKind::OperationFailed { error, .. } => error.render(0, &mut out),
            ArmErrorKind::Transport(m) | ArmErrorKind::Auth(m) | ArmErrorKind::Protocol(m) => {
                out.push_str(m);
                out.push('\n');
            }
            ArmErrorKind::Timeout(_) => out.push_str(
                "The operation did not finish within its timeout. Azure may still complete it: run `terraform apply` again to pick up where it left off, or raise the timeout in the resource's `timeouts` block.\n",
            ),
            ArmErrorKind::Cancelled => {
                out.push_str("Terraform asked the provider to stop. Objects created so far are recorded in state; run `terraform apply` again to finish.\n")
            }
        }
        if let Some(id) = &self.request_id {
            out.push_str(&format!("Request ID: {id}\n"));
        }
        if let Some(id) = &self.correlation_id {
            out.push_str(&format!("Correlation ID: {id}\n"));
        }
        if let Some(h) = self.hint() {
            out.push_str(&format!("\nHint: {h}\n"));
        }
        out.trim_end().to_owned()
    }

    fn hint(&self) -> Option<String> {
        let in_progress = matches!(&self.kind,
            ArmErrorKind::Response { error, .. } | ArmErrorKind::OperationFailed { error, .. } if error.is_operation_in_progress());
        let code = if in_progress { "AnotherOperationInProgress" } else { self.code()? };
        let h = match code {
            "AuthorizationFailed" | "LinkedAuthorizationFailed" => {
                "the identity Terraform runs as lacks permission for this action on this scope. Grant it a role there (Contributor for resources, plus User Access Administrator or Role Based Access Control Administrator for role assignments) and run apply again."
            }
            "MissingSubscriptionRegistration" | "SubscriptionNotRegistered" => {
                "the subscription has not registered this resource provider namespace. trench registers the namespaces it needs when ARM asks; if this persists, the identity may not be allowed to register providers: run `az provider register --namespace <namespace>` as a subscription owner."
            }
            "InUseSubnetCannotBeDeleted" | "InUseSubnetCannotBeUpdated" => {
                "something else still uses this subnet (the message names it). Remove or move that first, or keep the subnet in configuration."
            }
            "InUseRouteTableCannotBeDeleted"
            | "InUseNetworkSecurityGroupCannotBeDeleted"
            | "PublicIPAddressCannotBeDeleted"
            | "NicInUse"
            | "CannotDeleteResource" => {
                "another object still points at this one (subnets, NICs, IP configurations or nested resources). Detach or delete those first; ARM refuses the delete until nothing uses it."
            }
            "PrincipalNotFound" => {
                "the principal does not exist in the tenant, or Entra ID has not replicated it to ARM yet. trench sends principalType and retries briefly; if it still fails, check the principal id."
            }
            "QuotaExceeded" | "OperationNotAllowed" | "PublicIPCountLimitReached" | "SkuNotAvailable" | "ResourceQuotaExceeded" => {
                "a subscription or regional quota or SKU restriction blocks this. Request a quota increase for the region, or choose another SKU or region."
            }
            "RequestDisallowedByPolicy" => {
                "an Azure Policy assignment denied the request; the details name the policy. Change the configuration to comply or ask for an exemption."
            }
            "ResourceGroupNotFound" | "ParentResourceNotFound" => {
                "a parent object is missing, probably deleted outside Terraform. Run `terraform apply` to recreate it."
            }
            "InvalidAuthenticationToken" | "ExpiredAuthenticationToken" | "AuthenticationFailed" => {
                "ARM rejected the token. Check tenant_id, client_id and the credential; for OIDC, that the federated credential's subject matches this workflow."
            }
            "AnotherOperationInProgress" | "RetryableError" => {
                "another operation on the same object was still running after trench's retries. Run apply again once it finishes."
            }
            "ScopeLocked" => {
                "a management lock on the resource or its group forbids this change. Remove the lock or change it to allow the operation."
            }
            _ => return None,
        };
        Some(h.to_owned())
    }
}

fn nonempty<'a>(s: &'a str, fallback: &'a str) -> &'a str {
    if s.is_empty() { fallback } else { s }
}

impl fmt::Display for ArmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.summary(), self.detail())
    }
}

impl std::error::Error for ArmError {}

/// `1h30m`, `5m`, `20s`: the spelling of Terraform's `timeouts` block.
fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs();
    let parts = [(s / 3600, "h"), ((s % 3600) / 60, "m"), (s % 60, "s")];
    let out: String = parts.iter().filter(|(n, _)| *n > 0).map(|(n, u)| format!("{n}{u}")).collect();
    if out.is_empty() { "0s".to_owned() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(kind: ArmErrorKind) -> ArmError {
        let subnet = "Subnet \"aks-nodes\" (Virtual Network \"trench-aks-vnet-dev\", Resource Group \"rg-trench-aks-dev\")";
        ArmError::new("creating", subnet, kind).with_ids(Some("5f0c…req"), Some("9a1d…corr"))
    }

    #[test]
    fn envelope_and_nested_details_are_read() {
        let body = br#"{"error":{"code":"InUseSubnetCannotBeDeleted","message":"Subnet aks-nodes is in use by /x/nic","target":"subnets","details":[{"code":"Inner","message":"deep"}]}}"#;
        let e = ErrorDetail::from_body(body).unwrap();
        assert!(e.has_code("inner"));
        assert_eq!(e.target.as_deref(), Some("subnets"));
        assert!(ErrorDetail::from_body(b"<html>").is_none());
    }

    #[test]
    fn aks_in_progress_refusals_are_told_from_quota_refusals_by_their_words() {
        let e = |message: &str| ErrorDetail { code: "OperationNotAllowed".into(), message: message.into(), ..Default::default() };
        for running in [
            "Operation is not allowed: Another operation (Updating) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details",
            "Operation is not allowed: Another agentpool operation (nodepool1 - Creating) is in progress, please wait for it to finish before starting a new operation.",
            "Operation is not allowed because there's an in progress update managed cluster operation (operation ID: e375d315) on the managed cluster started on UTC 2026-05-22T07:19:23Z. Please wait for it to finish before starting a new operation.",
        ] {
            assert!(e(running).is_operation_in_progress(), "{running}");
        }
        let quota = "Preflight validation check for resource(s) for container service aks-a in resource group rg-a failed. Message: Operation could not be completed as it results in exceeding approved standardDSv5Family Cores quota.";
        assert!(!e(quota).is_operation_in_progress());
    }

    #[test]
    fn rendering_of_common_errors() {
        let conflict = err(ArmErrorKind::Response {
            status: 409,
            error: ErrorDetail {
                code: "AnotherOperationInProgress".into(),
                message: "Another operation on this or dependent resource is in progress.".into(),
                target: None,
                details: vec![ErrorDetail { code: "RetryableError".into(), message: "retry later".into(), target: None, details: vec![] }],
            },
        });
        let failed = err(ArmErrorKind::OperationFailed {
            status: "Failed".into(),
            error: ErrorDetail {
                code: "InternalServerError".into(),
                message: "boom".into(),
                target: Some("properties.addressPrefix".into()),
                details: vec![],
            },
        });
        let auth = err(ArmErrorKind::Response {
            status: 403,
            error: ErrorDetail { code: "AuthorizationFailed".into(), message: "no".into(), ..Default::default() },
        });
        let timeout = err(ArmErrorKind::Timeout(Duration::from_secs(5400)));
        let rendered: Vec<String> =
            [conflict, failed, auth, timeout].iter().map(|e| format!("{}\n---\n{}", e.summary(), e.detail())).collect();
        insta::assert_snapshot!(rendered.join("\n=====\n"));
    }
}
