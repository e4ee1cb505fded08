//! What resources call: GET, PUT, PATCH, DELETE and POST of one object
//! (waiting for long-running operations), listings, and the waits for
//! eventual consistency. Every one goes through [`ArmClient::send`].

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, Url};
use serde_json::Value as Json;

use super::client::ArmClient;
use super::error::{ArmError, ArmErrorKind};
use super::id::ResourceId;
use super::op::Op;
use super::{api_versions, lro};

impl ArmClient {
    /// GET a resource; `None` when it does not exist (404).
    pub async fn get(&self, op: &Op, id: &ResourceId) -> Result<Option<Json>, ArmError> {
        let v = self.api_version(op, id)?;
        let rsp = self.send(op, &id.display(), Method::GET, self.url_for(id, v), None).await?;
        match rsp.status {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(Some(rsp.json().unwrap_or(Json::Null))),
            s => Err(self.err(op, &id.display(), ArmErrorKind::Response { status: s.as_u16(), error: rsp.error() }, Some(&rsp))),
        }
    }

    /// PUT a resource and wait for the operation; returns the final body
    /// (from the final GET ARM's contract prescribes).
    pub async fn put(&self, op: &Op, id: &ResourceId, body: &Json) -> Result<Json, ArmError> {
        self.write(op, id, Method::PUT, body, &[]).await
    }

    /// PUT with extra query parameters (e.g. `syncRemoteAddressSpace=true`).
    pub async fn put_with_query(&self, op: &Op, id: &ResourceId, body: &Json, query: &[(&str, &str)]) -> Result<Json, ArmError> {
        self.write(op, id, Method::PUT, body, query).await
    }

    /// PATCH a resource and wait for the operation.
    pub async fn patch(&self, op: &Op, id: &ResourceId, body: &Json) -> Result<Json, ArmError> {
        self.write(op, id, Method::PATCH, body, &[]).await
    }

    /// Every resource in a resource group; `None` when the group is gone.
    pub async fn list_group_resources(&self, op: &Op, rg: &ResourceId) -> Result<Option<Vec<Json>>, ArmError> {
        self.list(op, &rg.display(), &format!("{rg}/resources"), "Microsoft.Resources/resources", &[]).await
    }

    /// A resource's children of one type (`queues` of a Service Bus
    /// namespace) at that type's pinned api-version; `None` when the
    /// parent is gone.
    pub async fn list_children(&self, op: &Op, parent: &ResourceId, child_type: &str) -> Result<Option<Vec<Json>>, ArmError> {
        let ty = format!("{}/{child_type}", parent.resource_type());
        self.list(op, &format!("{child_type} of {}", parent.display()), &format!("{parent}/{child_type}"), &ty, &[]).await
    }

    /// Extension resources of one type at a scope (role assignments at a
    /// subscription), optionally with the `$filter` ARM applies to them
    /// (`principalId eq '…'`).
    pub async fn list_at_scope(
        &self,
        op: &Op,
        scope: &ResourceId,
        namespace: &str,
        ty: &str,
        filter: Option<&str>,
    ) -> Result<Option<Vec<Json>>, ArmError> {
        let path = format!("{scope}/providers/{namespace}/{ty}");
        let query: Vec<(&str, &str)> = filter.map(|f| ("$filter", f)).into_iter().collect();
        self.list(op, &format!("{ty} at {}", scope.display()), &path, &format!("{namespace}/{ty}"), &query).await
    }

    /// GETs a collection at `path` (under the endpoint) at the pinned
    /// api-version of `ty`, following `nextLink`; every item of `value`.
    async fn list(&self, op: &Op, what: &str, path: &str, ty: &str, query: &[(&str, &str)]) -> Result<Option<Vec<Json>>, ArmError> {
        let api_version = api_versions::for_type(ty)
            .ok_or_else(|| self.err(op, what, ArmErrorKind::Protocol(format!("no api-version is pinned for {ty}")), None))?;
        let mut url = self.endpoint.clone();
        url.set_path(&format!("{}{}", self.endpoint.path().trim_end_matches('/'), path));
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("api-version", api_version);
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        let mut items = Vec::new();
        let mut next = Some(url);
        while let Some(u) = next.take() {
            let rsp = self.send(op, what, Method::GET, u, None).await?;
            match rsp.status {
                StatusCode::NOT_FOUND => return Ok(None),
                s if s.is_success() => {
                    let body = rsp.json().unwrap_or(Json::Null);
                    items.extend(body.get("value").and_then(Json::as_array).cloned().unwrap_or_default());
                    next = body.get("nextLink").and_then(Json::as_str).and_then(|l| Url::parse(l).ok());
                }
                s => return Err(self.err(op, what, ArmErrorKind::Response { status: s.as_u16(), error: rsp.error() }, Some(&rsp))),
            }
        }
        Ok(Some(items))
    }

    async fn write(&self, op: &Op, id: &ResourceId, method: Method, body: &Json, query: &[(&str, &str)]) -> Result<Json, ArmError> {
        let v = self.api_version(op, id)?;
        let get_url = self.url_for(id, v);
        let mut url = get_url.clone();
        if !query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, val) in query {
                q.append_pair(k, val);
            }
        }
        let what = id.display();
        let rsp = self.send(op, &what, method.clone(), url, Some(body)).await?;
        if !rsp.status.is_success() {
            return Err(self.err(op, &what, ArmErrorKind::Response { status: rsp.status.as_u16(), error: rsp.error() }, Some(&rsp)));
        }
        let done = lro::wait(self, op, &what, &method, &get_url, rsp).await?;
        match done {
            Some(b) if b.get("id").is_some() && lro::is_terminal_success(&b) => Ok(b),
            _ => {
                // Final GET of the original URI.
                let r = self.send(op, &what, Method::GET, get_url, None).await?;
                if r.status.is_success() {
                    Ok(r.json().unwrap_or(Json::Null))
                } else {
                    Err(self.err(op, &what, ArmErrorKind::Response { status: r.status.as_u16(), error: r.error() }, Some(&r)))
                }
            }
        }
    }

    /// DELETE a resource and wait; an object already gone is success.
    pub async fn delete(&self, op: &Op, id: &ResourceId) -> Result<(), ArmError> {
        let v = self.api_version(op, id)?;
        let url = self.url_for(id, v);
        let what = id.display();
        let rsp = self.send(op, &what, Method::DELETE, url.clone(), None).await?;
        match rsp.status {
            StatusCode::NOT_FOUND | StatusCode::NO_CONTENT => Ok(()),
            s if s.is_success() => lro::wait(self, op, &what, &Method::DELETE, &url, rsp).await.map(|_| ()),
            s => Err(self.err(op, &what, ArmErrorKind::Response { status: s.as_u16(), error: rsp.error() }, Some(&rsp))),
        }
    }

    /// POST an action (`…/{id}/{action}`) and wait; returns the result body.
    pub async fn post(&self, op: &Op, id: &ResourceId, action: &str, body: Option<&Json>) -> Result<Option<Json>, ArmError> {
        let v = self.api_version(op, id)?;
        let mut url = self.url_for(id, v);
        url.path_segments_mut().expect("base URL").push(action);
        let what = id.display();
        let rsp = self.send(op, &what, Method::POST, url.clone(), body).await?;
        if !rsp.status.is_success() {
            return Err(self.err(op, &what, ArmErrorKind::Response { status: rsp.status.as_u16(), error: rsp.error() }, Some(&rsp)));
        }
        lro::wait(self, op, &what, &Method::POST, &url, rsp).await
    }

    /// PUT, retrying while ARM answers one of `codes` (for eventual
    /// consistency such as `PrincipalNotFound` after creating an identity),
    /// for at most `within`.
    pub async fn put_retrying(&self, op: &Op, id: &ResourceId, body: &Json, codes: &[&str], within: Duration) -> Result<Json, ArmError> {
        let until = Instant::now() + within;
        let mut pace = self.converging();
        loop {
            let wait = pace.next_wait();
            match self.put(op, id, body).await {
                Err(e) if codes.iter().any(|c| e.has_code(c)) && Instant::now() + wait < until => {
                    tracing::debug!(code = e.code().unwrap_or(""), "eventual consistency: retrying");
                    self.sleep(op, &id.display(), wait).await?;
                }
                r => return r,
            }
        }
    }

    /// GETs until `busy` no longer holds for the object (an operation
    /// someone else started has finished), within the operation's deadline;
    /// `None` if it is gone by then.
    pub async fn wait_settled(&self, op: &Op, id: &ResourceId, busy: fn(&Json) -> bool) -> Result<Option<Json>, ArmError> {
        let mut pace = self.polling();
        loop {
            match self.get(op, id).await? {
                Some(b) if busy(&b) => self.sleep(op, &id.display(), pace.next_wait()).await?,
                other => return Ok(other),
            }
        }
    }

    /// GETs until the object is visible (read-after-write across ARM's
    /// replicas), for at most `within`.
    pub async fn wait_visible(&self, op: &Op, id: &ResourceId, within: Duration) -> Result<Json, ArmError> {
        let until = Instant::now() + within;
        let mut pace = self.converging();
        loop {
            if let Some(b) = self.get(op, id).await? {
                return Ok(b);
            }
            let wait = pace.next_wait();
            if Instant::now() + wait > until {
                return Err(self.err(
                    op,
                    &id.display(),
                    ArmErrorKind::Protocol(format!("the object was created but is still not visible after {}s", within.as_secs())),
                    None,
                ));
            }
            self.sleep(op, &id.display(), wait).await?;
        }
    }

    /// The pace of waiting for something ARM is doing (a registration, a
    /// write someone else started): from the poll interval to 15 s.
    pub(crate) fn polling(&self) -> Backoff {
        Backoff::new(self.options.poll_interval, Duration::from_secs(15))
    }

    /// The pace of waiting for ARM's replicas to agree (a new principal, a
    /// new object not yet visible): from the retry base to 10 s.
    fn converging(&self) -> Backoff {
        Backoff::new(self.options.retry_base.max(Duration::from_millis(10)), Duration::from_secs(10))
    }
}

/// A doubling wait with a ceiling: the pace of every loop that polls or
/// retries (registration, a running write, eventual consistency). The
/// request pipeline's own retries add jitter on top (`backoff`).
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    wait: Duration,
    ceiling: Duration,
}

impl Backoff {
    /// Starting at `first`, doubling up to `ceiling`.
    pub fn new(first: Duration, ceiling: Duration) -> Backoff {
        Backoff { wait: first.min(ceiling), ceiling }
    }
    /// The next wait.
    pub fn next_wait(&mut self) -> Duration {
        let w = self.wait;
        self.wait = (self.wait * 2).min(self.ceiling);
        w
    }
}
