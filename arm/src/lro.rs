//! Long-running operations, as ARM's RPC contract describes them:
//! 201/202 with `Azure-AsyncOperation` → poll the operation status until
//! `Succeeded`/`Failed`/`Canceled`; else 201/202 with `Location` → poll it
//! until it stops answering 202; else a PUT/PATCH body with a non-terminal
//! `provisioningState` → poll the resource. `Retry-After` paces each poll.
//! Polling URLs must point at the ARM endpoint we send tokens to.

use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde_json::Value as Json;

use super::client::{ArmClient, same_origin};
use super::error::{ArmError, ArmErrorKind, ErrorDetail};
use super::op::Op;
use super::response::{Response, error_of};

/// `Succeeded`, or no `provisioningState` at all (which ARM means as done).
pub fn is_terminal_success(body: &Json) -> bool {
    match provisioning_state(body) {
        None => true,
        Some(s) => s.eq_ignore_ascii_case("Succeeded"),
    }
}

fn provisioning_state(body: &Json) -> Option<&str> {
    body.pointer("/properties/provisioningState").and_then(Json::as_str)
}

fn terminal(status: &str) -> Option<bool> {
    match status.to_ascii_lowercase().as_str() {
        "succeeded" => Some(true),
        "failed" | "canceled" | "cancelled" => Some(false),
        _ => None,
    }
}

enum Style {
    AsyncOperation(Url),
    Location(Url),
    ProvisioningState,
    Done,
}

fn style(rsp: &Response, method: &Method) -> Style {
    let accepted = matches!(rsp.status, StatusCode::CREATED | StatusCode::ACCEPTED);
    let url = |h: &str| rsp.header(h).and_then(|v| Url::parse(v).ok());
    if accepted || rsp.header("azure-asyncoperation").is_some() {
        if let Some(u) = url("azure-asyncoperation") {
            return Style::AsyncOperation(u);
        }
        if let Some(u) = url("location") {
            return Style::Location(u);
        }
    }
    if (*method == Method::PUT || *method == Method::PATCH)
        && rsp.json().as_ref().and_then(provisioning_state).is_some_and(|s| terminal(s).is_none())
    {
        return Style::ProvisioningState;
    }
    if rsp.status == StatusCode::ACCEPTED && *method != Method::DELETE {
        // 202 with nowhere to poll: ARM's contract says GET the resource.
        return Style::ProvisioningState;
    }
    Style::Done
}

/// Waits for the operation `rsp` started; returns the final body when the
/// style yields one (Location's final 200, the polled resource, or the
/// initial body when nothing was pending).
pub async fn wait(client: &ArmClient, op: &Op, what: &str, method: &Method, url: &Url, rsp: Response) -> Result<Option<Json>, ArmError> {
    let mut delay = rsp.retry_after().unwrap_or(client.options().poll_interval);
    let err = |kind, r: Option<&Response>| error_of(op, what, kind, r);
    let check_origin = |u: &Url| {
        if same_origin(u, client.endpoint()) {
            Ok(())
        } else {
            Err(err(
                ArmErrorKind::Protocol(format!("ARM asked us to poll {} which is not the ARM endpoint", u.origin().ascii_serialization())),
                Some(&rsp),
            ))
        }
    };
    match style(&rsp, method) {
        Style::Done => Ok(rsp.json()),
        Style::AsyncOperation(poll) => {
            check_origin(&poll)?;
            loop {
                client.sleep(op, what, delay).await?;
                let r = client.send(op, what, Method::GET, poll.clone(), None).await?;
                if !r.status.is_success() {
                    return Err(err(
                        ArmErrorKind::Response { status: r.status.as_u16(), error: ErrorDetail::from_body(&r.body).unwrap_or_default() },
                        Some(&r),
                    ));
                }
                let body = r.json().unwrap_or(Json::Null);
                let status = body.get("status").and_then(Json::as_str).unwrap_or("InProgress");
                match terminal(status) {
                    Some(true) => return Ok(None),
                    Some(false) => {
                        let error: ErrorDetail = body.get("error").and_then(|e| serde_json::from_value(e.clone()).ok()).unwrap_or_default();
                        return Err(err(ArmErrorKind::OperationFailed { status: status.to_owned(), error }, Some(&r)));
                    }
                    None => delay = r.retry_after().unwrap_or(client.options().poll_interval),
                }
            }
        }
        Style::Location(mut poll) => {
            check_origin(&poll)?;
            loop {
                client.sleep(op, what, delay).await?;
                let r = client.send(op, what, Method::GET, poll.clone(), None).await?;
                match r.status {
                    StatusCode::ACCEPTED => {
                        if let Some(next) = r.header("location").and_then(|v| Url::parse(v).ok()) {
                            check_origin(&next)?;
                            poll = next;
                        }
                        delay = r.retry_after().unwrap_or(client.options().poll_interval);
                    }
                    s if s.is_success() => return Ok(r.json()),
                    // A DELETE's Location may 404 once the object is gone.
                    StatusCode::NOT_FOUND if *method == Method::DELETE => return Ok(None),
                    s => {
                        let error = ErrorDetail::from_body(&r.body).unwrap_or_default();
                        return Err(err(
                            if error.code.is_empty() {
                                ArmErrorKind::Response { status: s.as_u16(), error }
                            } else {
                                ArmErrorKind::OperationFailed { status: "Failed".into(), error }
                            },
                            Some(&r),
                        ));
                    }
                }
            }
        }
        Style::ProvisioningState => loop {
            client.sleep(op, what, delay).await?;
            let r = client.send(op, what, Method::GET, url.clone(), None).await?;
            if !r.status.is_success() {
                return Err(err(
                    ArmErrorKind::Response { status: r.status.as_u16(), error: ErrorDetail::from_body(&r.body).unwrap_or_default() },
                    Some(&r),
                ));
            }
            let body = r.json().unwrap_or(Json::Null);
            let state = provisioning_state(&body).unwrap_or("Succeeded").to_owned();
            match terminal(&state) {
                Some(true) => return Ok(Some(body)),
                Some(false) => {
                    return Err(err(
                        ArmErrorKind::OperationFailed {
                            status: state.clone(),
                            error: ErrorDetail {
                                code: format!("Provisioning{state}"),
                                message: format!("the resource ended in provisioningState {state}"),
                                ..Default::default()
                            },
                        },
                        Some(&r),
                    ));
                }
                None => delay = r.retry_after().unwrap_or(client.options().poll_interval).max(Duration::from_millis(10)),
            }
        },
    }
}
