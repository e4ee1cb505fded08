//! The go-plugin contract as Terraform 1.11 uses it: magic cookie, protocol
//! negotiation, a unix socket (loopback TCP where there are none), AutoMTLS,
//! the handshake line on stdout, and `--debug` for TF_REATTACH_PROVIDERS.
//!
//! Knows tonic's transport, never protobuf messages (those stay in `tfplugin`).

mod tls;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::framework::{Identity, Provider};

pub use tls::server_tls;

/// go-plugin's magic cookie for Terraform providers (a UX check, not security).
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// Its expected value.
pub const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// Message for a human who runs the binary directly (go-plugin's words).
pub fn not_by_hand(identity: &Identity) -> String {
    let short = identity.source_address.split_once('/').map_or(identity.source_address, |(_, s)| s);
    format!(
        "This binary is a plugin. These are not meant to be executed directly.\n\
Please execute the program that consumes these plugins, which will\n\
load any plugins automatically (here: terraform, with\n\
required_providers {{ {} = {{ source = \"{short}\" }} }}).\n\
To debug the provider, run it with --debug and set TF_REATTACH_PROVIDERS.",
        identity.name
    )
}

/// How long in-flight calls may finish after Shutdown. go-plugin kills the
/// process 2 s after asking, so stay well inside that.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(300);

/// Why the process cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Run by hand rather than by Terraform.
    #[error("this binary is a plugin, started by Terraform (run it with --help)")]
    NotByTerraform,
    /// Terraform offers no protocol version we speak.
    #[error("Terraform offered plugin protocol versions {0:?}; this provider speaks only protocol 6 (Terraform 1.0 or newer)")]
    NoCommonProtocol(String),
    /// Anything else, with context.
    #[error("{0}")]
    Other(String),
}

/// Checks the environment Terraform sets, before anything is printed.
pub fn check_environment(env: &dyn Fn(&str) -> Option<String>) -> Result<(), StartError> {
    if env(MAGIC_COOKIE_KEY).as_deref() != Some(MAGIC_COOKIE_VALUE) {
        return Err(StartError::NotByTerraform);
    }
    // Order is random (a Go map); absent means go-plugin's default.
    if let Some(v) = env("PLUGIN_PROTOCOL_VERSIONS").filter(|v| !v.trim().is_empty())
        && !v.split(',').any(|p| p.trim() == "6")
    {
        return Err(StartError::NoCommonProtocol(v));
    }
    Ok(())
}

/// The first stdout line go-plugin reads: `1|6|<network>|<addr>|grpc|<cert>`.
pub fn handshake_line(network: &str, addr: &str, server_cert_der: Option<&[u8]>) -> String {
    let cert = server_cert_der.map(|d| base64::engine::general_purpose::STANDARD_NO_PAD.encode(d)).unwrap_or_default();
    format!("1|6|{network}|{addr}|grpc|{cert}")
}

/// The TF_REATTACH_PROVIDERS value for a provider served at `addr`.
/// `Test: true` is what makes Terraform 1.11 take the protocol-6 path.
pub fn reattach_json(source_address: &str, network: &str, addr: &str, pid: u32) -> String {
    serde_json::json!({
        source_address: {
            "Protocol": "grpc",
            "ProtocolVersion": 6,
            "Pid": pid,
            "Test": true,
            "Addr": { "Network": network, "String": addr }
        }
    })
    .to_string()
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// One accepted connection, plain (debug mode) or behind mutual TLS.
enum Conn {
    Plain(Box<dyn Io>),
    Tls(Box<tokio_rustls::server::TlsStream<Box<dyn Io>>>),
}

impl tonic::transport::server::Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) {}
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

enum Listener {
    #[cfg(unix)]
    Unix(tokio::net::UnixListener),
    #[cfg_attr(unix, allow(dead_code))]
    Tcp(tokio::net::TcpListener),
}

impl Listener {
    async fn accept(&self) -> std::io::Result<Box<dyn Io>> {
        match self {
            #[cfg(unix)]
            Listener::Unix(l) => Ok(Box::new(l.accept().await?.0)),
            Listener::Tcp(l) => Ok(Box::new(l.accept().await?.0)),
        }
    }
}

/// A bound listener and what the handshake line must say about it.
pub struct Bound {
    listener: Listener,
    /// `unix` or `tcp`.
    pub network: &'static str,
    /// Socket path or `127.0.0.1:port`.
    pub addr: String,
    // Removed (with the socket in it) when the server stops.
    _dir: Option<tempfile::TempDir>,
}

/// Binds a unix socket in a private temporary directory (loopback TCP where
/// unix sockets do not exist).
pub async fn bind() -> Result<Bound, StartError> {
    #[cfg(unix)]
    {
        let dir = tempfile::Builder::new()
            .prefix("tf-plugin")
            .tempdir()
            .map_err(|e| StartError::Other(format!("creating the socket directory: {e}")))?;
        let path = dir.path().join("plugin.sock");
        let l = tokio::net::UnixListener::bind(&path).map_err(|e| StartError::Other(format!("listening on {}: {e}", path.display())))?;
        Ok(Bound { listener: Listener::Unix(l), network: "unix", addr: path.display().to_string(), _dir: Some(dir) })
    }
    #[cfg(not(unix))]
    {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| StartError::Other(format!("listening on loopback: {e}")))?;
        let addr = l.local_addr().map_err(|e| StartError::Other(e.to_string()))?.to_string();
        Ok(Bound { listener: Listener::Tcp(l), network: "tcp", addr, _dir: None })
    }
}

/// Serves the provider on `bound` until Terraform calls Shutdown (or
/// `stop` resolves). With `tls`, only clients presenting the pinned
/// certificate get a session; refused handshakes are logged.
pub async fn serve(
    provider: Arc<Provider>,
    bound: Bound,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let (shutdown_tx, mut shutdown_rx) = mpsc::channel::<()>(1);
    let routes = crate::tfplugin::routes(provider, shutdown_tx).await;
    let (conn_tx, conn_rx) = mpsc::channel::<std::io::Result<Conn>>(16);
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let Bound { listener, _dir, .. } = bound;
    let accept_loop = tokio::spawn(async move {
        loop {
            let io = match listener.accept().await {
                Ok(io) => io,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            };
            let tx = conn_tx.clone();
            match &acceptor {
                None => {
                    if tx.send(Ok(Conn::Plain(io))).await.is_err() {
                        return;
                    }
                }
                Some(acc) => {
                    let acc = acc.clone();
                    // Handshake off the accept loop so one slow client cannot stall others.
                    tokio::spawn(async move {
                        match tokio::time::timeout(Duration::from_secs(10), acc.accept(io)).await {
                            Ok(Ok(s)) => {
                                let _ = tx.send(Ok(Conn::Tls(Box::new(s)))).await;
                            }
                            Ok(Err(e)) => tracing::warn!(error = %e, "refused a connection that failed mutual TLS"),
                            Err(_) => tracing::warn!("refused a connection: TLS handshake timed out"),
                        }
                    });
                }
            }
        }
    });
    let stopping = Arc::new(tokio::sync::Notify::new());
    let notify = stopping.clone();
    let signal = async move {
        tokio::select! {
            _ = shutdown_rx.recv() => {}
            _ = stop => {}
        }
        notify.notify_one();
    };
    let server = tonic::transport::Server::builder().add_routes(routes).serve_with_incoming_shutdown(ReceiverStream::new(conn_rx), signal);
    // Graceful shutdown finishes in-flight calls, but must not hang on a
    // client that keeps an idle connection open.
    let grace = async {
        stopping.notified().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    let result = tokio::select! {
        r = server => r,
        _ = grace => Ok(()),
    };
    accept_loop.abort();
    drop(_dir);
    result.map_err(|e| StartError::Other(format!("serving gRPC: {e}")))
}

/// Entry point for a Terraform-launched process: checks, binds, prints the
/// handshake line, serves until Shutdown.
pub async fn run_managed(provider: Arc<Provider>, env: &dyn Fn(&str) -> Option<String>) -> Result<(), StartError> {
    check_environment(env)?;
    // Ctrl-C at the terminal reaches us too (same process group); Terraform
    // turns it into StopProvider, so the signal itself must not kill us.
    ignore_sigint();
    let tls = match env("PLUGIN_CLIENT_CERT").filter(|c| !c.trim().is_empty()) {
        Some(pem) => Some(server_tls(&pem).map_err(StartError::Other)?),
        // Only when Terraform runs with TF_DISABLE_PLUGIN_TLS.
        None => None,
    };
    let bound = bind().await?;
    let line = handshake_line(bound.network, &bound.addr, tls.as_ref().map(|t| t.cert_der.as_slice()));
    print_line(&line)?;
    tracing::debug!(network = bound.network, addr = %bound.addr, mtls = tls.is_some(), "plugin serving");
    serve(provider, bound, tls.map(|t| t.config), std::future::pending()).await
}

/// `--debug`: serve in plaintext (Terraform's reattach client uses no TLS)
/// and print how to attach; runs until Ctrl-C.
pub async fn run_debug(provider: Arc<Provider>) -> Result<(), StartError> {
    let bound = bind().await?;
    let identity = provider.identity();
    let json = reattach_json(identity.source_address, bound.network, &bound.addr, std::process::id());
    print_line(&format!(
        "{} is running in debug mode. To attach Terraform, set:\n\n\tTF_REATTACH_PROVIDERS='{json}'\n\nPress Ctrl-C to stop.",
        identity.binary
    ))?;
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    serve(provider, bound, None, stop).await
}

/// A provider binary's whole `main`: `--version`, `--help`, `--debug`, or
/// serving Terraform; logging at Terraform's level; the exit code.
pub fn main(provider: impl FnOnce() -> Provider) -> std::process::ExitCode {
    use std::process::ExitCode;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env = |k: &str| std::env::var(k).ok();
    let provider = provider();
    let identity = *provider.identity();
    match args.first().map(String::as_str) {
        Some("--version" | "-v") => {
            println!("{} {}", identity.binary, identity.version);
            return ExitCode::SUCCESS;
        }
        Some("--help" | "-h") => {
            println!(
                "{} {}\n\n{}\n\nOptions:\n  --debug    serve for TF_REATTACH_PROVIDERS (for debuggers)\n  --version  print the version",
                identity.binary,
                identity.version,
                not_by_hand(&identity)
            );
            return ExitCode::SUCCESS;
        }
        Some("--debug") | None => {}
        Some(other) => {
            eprintln!("{}: unknown argument {other:?} (try --help)", identity.binary);
            return ExitCode::from(2);
        }
    }
    let debug = args.first().is_some_and(|a| a == "--debug");
    // Checked before starting anything so a human gets the message at once.
    if !debug && let Err(e) = check_environment(&env) {
        match e {
            StartError::NotByTerraform => eprintln!("{}", not_by_hand(&identity)),
            e => eprintln!("{e}"),
        }
        return ExitCode::FAILURE;
    }
    crate::logging::init(&identity, crate::logging::level_from_env(&env).or(debug.then_some(tracing::Level::DEBUG)));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: starting the runtime: {e}", identity.binary);
            return ExitCode::FAILURE;
        }
    };
    let provider = Arc::new(provider);
    let result = runtime.block_on(async { if debug { run_debug(provider).await } else { run_managed(provider, &env).await } });
    // Don't wait for stray tasks (e.g. a retry sleeping) once serving is over.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}: {e}", identity.binary);
            ExitCode::FAILURE
        }
    }
}

fn print_line(s: &str) -> Result<(), StartError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{s}").and_then(|_| out.flush()).map_err(|e| StartError::Other(format!("writing the handshake: {e}")))
}

fn ignore_sigint() {
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) {
            Ok(mut s) => {
                tokio::spawn(async move {
                    while s.recv().await.is_some() {
                        tracing::debug!("SIGINT ignored; Terraform will call StopProvider");
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "could not install a SIGINT handler"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_cookie_and_protocol_are_checked() {
        let none = |_: &str| None;
        assert!(matches!(check_environment(&none), Err(StartError::NotByTerraform)));
        let ok = |k: &str| match k {
            MAGIC_COOKIE_KEY => Some(MAGIC_COOKIE_VALUE.to_owned()),
            "PLUGIN_PROTOCOL_VERSIONS" => Some("6,5".to_owned()),
            _ => None,
        };
        assert!(check_environment(&ok).is_ok());
        let v5 = |k: &str| match k {
            MAGIC_COOKIE_KEY => Some(MAGIC_COOKIE_VALUE.to_owned()),
            "PLUGIN_PROTOCOL_VERSIONS" => Some("4,5".to_owned()),
            _ => None,
        };
        assert!(matches!(check_environment(&v5), Err(StartError::NoCommonProtocol(_))));
    }

    #[test]
    fn handshake_line_uses_unpadded_base64_of_the_der() {
        let line = handshake_line("unix", "/tmp/x/plugin.sock", Some(&[0xde, 0xad, 0xbe, 0xef, 0x01]));
        assert_eq!(line, "1|6|unix|/tmp/x/plugin.sock|grpc|3q2+7wE");
    }

    #[test]
    fn reattach_json_marks_test_mode() {
        let j: serde_json::Value = serde_json::from_str(&reattach_json("registry.terraform.io/example/test", "unix", "/s", 42)).unwrap();
        let p = &j["registry.terraform.io/example/test"];
        assert_eq!(p["ProtocolVersion"], 6);
        assert_eq!(p["Test"], true);
        assert_eq!(p["Addr"]["String"], "/s");
    }
}
