//! `serve`: binds the TLS listener, writes `armsim.json`, and serves connections until shutdown.
//! A `reset` fault closes the request's TCP connection with an RST (SO_LINGER 0), not a response.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::config::SimConfig;
use crate::error::{Error, Result};
use crate::sim::{ConnHandle, Sim};

/// A simulator serving HTTPS. Dropping it does not stop it; call [`RunningSim::shutdown`].
pub struct RunningSim {
    sim: Sim,
    endpoint: String,
    ca_pem: String,
    ca_file: PathBuf,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningSim {
    /// `https://127.0.0.1:<port>` (ARM endpoint and token authority host).
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }
    /// The CA certificate clients must trust (PEM).
    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }
    /// Absolute path of `ca.pem`.
    pub fn ca_file(&self) -> PathBuf {
        self.ca_file.clone()
    }
    /// Tenant id.
    pub fn tenant_id(&self) -> String {
        self.sim.config().tenant_id.clone()
    }
    /// The first subscription.
    pub fn subscription_id(&self) -> String {
        self.sim.config().subscription_ids[0].clone()
    }
    /// Client id of the first accepted principal.
    pub fn client_id(&self) -> String {
        self.sim.config().effective_principals()[0].client_id.clone()
    }
    /// Its secret.
    pub fn client_secret(&self) -> String {
        self.sim.config().effective_principals()[0].client_secret.clone()
    }
    /// The simulator itself (for advancing a manual clock, flushing, …).
    pub fn sim(&self) -> &Sim {
        &self.sim
    }
    /// Stops accepting, lets in-flight requests finish (up to 2 s) and writes `state.json`.
    pub async fn shutdown(self) -> Result<()> {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let sim = self.sim.clone();
        tokio::task::spawn_blocking(move || sim.flush()).await.map_err(|e| Error::Config(format!("flush task: {e}")))?
    }
}

/// Starts the simulator on `config.listen` with TLS and returns once it accepts connections.
pub async fn serve(config: SimConfig) -> Result<RunningSim> {
    let sim = Sim::new(config)?;
    let dir = sim.state_dir();
    let tls = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || crate::tls::load_or_create(&dir))
            .await
            .map_err(|e| Error::Tls(format!("certificate task: {e}")))??
    };
    let listen = sim.config().listen;
    let listener = TcpListener::bind(listen).await.map_err(|source| Error::Bind { addr: listen, source })?;
    let local = listener.local_addr().map_err(|source| Error::Bind { addr: listen, source })?;
    let host = if local.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else if local.is_ipv6() {
        format!("[{}]", local.ip())
    } else {
        local.ip().to_string()
    };
    let endpoint = format!("https://{host}:{}", local.port());
    let principal = sim.config().effective_principals()[0].clone();
    let info = json!({
        "endpoint": endpoint,
        "ca_file": tls.ca_file,
        "tenant_id": sim.config().tenant_id,
        "subscription_ids": sim.config().subscription_ids,
        "client_id": principal.client_id,
        "client_secret": principal.client_secret,
        "pid": std::process::id(),
    });
    crate::persist::write_atomic(&dir.join("armsim.json"), serde_json::to_string_pretty(&info).expect("json").as_bytes())?;

    let (stop, stop_rx) = watch::channel(false);
    let app = crate::app(sim.clone());
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.server.clone());
    let task = tokio::spawn(accept_loop(listener, acceptor, app, stop_rx));
    Ok(RunningSim { sim, endpoint, ca_pem: tls.ca_pem, ca_file: tls.ca_file, stop, task })
}

async fn accept_loop(listener: TcpListener, acceptor: tokio_rustls::TlsAcceptor, app: axum::Router, mut stop: watch::Receiver<bool>) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = tcp.set_nodelay(true);
        let fd = tcp.as_raw_fd();
        let acceptor = acceptor.clone();
        let app = app.clone();
        let mut stop = stop.clone();
        conns.spawn(async move {
            let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                _ => return,
            };
            let handle = ConnHandle { peer, reset: Arc::new(tokio::sync::Notify::new()) };
            let reset = handle.reset.clone();
            let svc = app.map_request(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(handle.clone());
                req
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(tls), TowerToHyperService::new(svc));
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = reset.notified() => {
                    // SAFETY: the stream owning `fd` lives inside `conn`, which is only dropped below.
                    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
                    let _ = socket2::SockRef::from(&borrowed).set_linger(Some(Duration::ZERO));
                }
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(2), conn.as_mut()).await;
                }
            }
        });
        while conns.try_join_next().is_some() {}
    }
    let _ = tokio::time::timeout(Duration::from_secs(3), async { while conns.join_next().await.is_some() {} }).await;
    conns.abort_all();
}
