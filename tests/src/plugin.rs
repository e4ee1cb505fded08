//! Starts a provider process the way Terraform's go-plugin client does
//! (magic cookie, protocol versions, an ECDSA P-521 AutoMTLS client
//! certificate) and makes raw gRPC calls to it over unix socket + TLS.
//! Raw calls keep this crate free of the provider's protobuf types.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};

/// go-plugin's magic cookie for Terraform providers.
pub const MAGIC_COOKIE: (&str, &str) = ("TF_PLUGIN_MAGIC_COOKIE", "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2");

/// A client identity like Terraform's: self-signed ECDSA P-521, CA:TRUE.
pub struct ClientIdentity {
    /// PEM of the certificate (what goes into PLUGIN_CLIENT_CERT).
    pub cert_pem: String,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

impl ClientIdentity {
    /// Generates one.
    pub fn generate() -> ClientIdentity {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("P-521 key");
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::OrganizationName, "HashiCorp");
        params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth, rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.self_signed(&key).unwrap();
        ClientIdentity { cert_pem: cert.pem(), cert_der: cert.der().to_vec(), key_der: key.serialize_der() }
    }
}

/// A running provider process and what its handshake line said.
pub struct PluginProcess {
    /// The child process.
    pub child: Child,
    /// The full handshake line.
    pub handshake: String,
    /// `unix` or `tcp`.
    pub network: String,
    /// Socket path or host:port.
    pub addr: String,
    /// The server certificate (DER) from the handshake line.
    pub server_cert: Vec<u8>,
    /// Time from spawn to the handshake line.
    pub handshake_time: Duration,
}

impl PluginProcess {
    /// Spawns `bin` as Terraform would, with `client_cert_pem` as AutoMTLS
    /// client certificate, and waits for the handshake line.
    pub fn spawn(bin: &std::path::Path, client_cert_pem: &str) -> std::io::Result<PluginProcess> {
        let start = Instant::now();
        let mut child = Command::new(bin)
            .env(MAGIC_COOKIE.0, MAGIC_COOKIE.1)
            .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .env("PLUGIN_MIN_PORT", "10000")
            .env("PLUGIN_MAX_PORT", "25000")
            .env("PLUGIN_CLIENT_CERT", client_cert_pem)
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_PROVIDER")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line)?;
        let handshake_time = start.elapsed();
        let line = line.trim().to_owned();
        let parts: Vec<&str> = line.split('|').collect();
        if parts.len() != 6 || parts[0] != "1" || parts[1] != "6" || parts[4] != "grpc" {
            let _ = child.kill();
            return Err(std::io::Error::other(format!("bad handshake line {line:?}")));
        }
        let server_cert = base64::engine::general_purpose::STANDARD_NO_PAD.decode(parts[5]).map_err(std::io::Error::other)?;
        Ok(PluginProcess { network: parts[2].to_owned(), addr: parts[3].to_owned(), server_cert, handshake: line, handshake_time, child })
    }

    /// Resident set size of the process, in bytes (Linux).
    pub fn rss_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kb: u64 = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }

    /// Waits up to `limit` for the process to exit; returns whether it did.
    pub fn wait_exit(&mut self, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }
}

impl Drop for PluginProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Trusts exactly the server certificate from the handshake line, as
/// go-plugin does (it puts that one certificate in RootCAs).
#[derive(Debug)]
struct PinnedServer(Vec<u8>, Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if end.as_ref() == self.0.as_slice() {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer))
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.1.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.1.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.1.signature_verification_algorithms.supported_schemes()
    }
}

/// How a test client connects.
pub enum ClientAuth<'a> {
    /// Present this certificate (Terraform's, or an impostor's).
    Cert(&'a ClientIdentity),
    /// TLS without a client certificate.
    NoCert,
    /// Plain HTTP/2, no TLS at all.
    Plaintext,
}

/// An HTTP/2 connection to the provider.
pub struct GrpcConn {
    sender: hyper::client::conn::http2::SendRequest<Full<Bytes>>,
}

/// Connects to the process's socket with the given authentication.
pub async fn connect(p: &PluginProcess, auth: ClientAuth<'_>) -> Result<GrpcConn, String> {
    #[cfg(unix)]
    let stream = tokio::net::UnixStream::connect(&p.addr).await.map_err(|e| format!("connect: {e}"))?;
    #[cfg(not(unix))]
    let stream = tokio::net::TcpStream::connect(&p.addr).await.map_err(|e| format!("connect: {e}"))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer(p.server_cert.clone(), provider)));
    let mut config = match auth {
        ClientAuth::Cert(id) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(id.cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_der.clone())),
            )
            .map_err(|e| e.to_string())?,
        ClientAuth::NoCert => builder.with_no_client_auth(),
        ClientAuth::Plaintext => return handshake(stream).await,
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), stream)
        .await
        .map_err(|e| format!("tls: {e}"))?;
    handshake(tls).await
}

async fn handshake<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static>(s: S) -> Result<GrpcConn, String> {
    let (sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(s)).await.map_err(|e| format!("h2: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(GrpcConn { sender })
}

impl GrpcConn {
    /// Calls `/<service>/<method>` with an encoded protobuf message; returns
    /// the response message bytes or the gRPC/transport error.
    pub async fn call(&mut self, path: &str, message: &[u8]) -> Result<Vec<u8>, String> {
        let mut frame = Vec::with_capacity(message.len() + 5);
        frame.push(0);
        frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
        frame.extend_from_slice(message);
        let req = hyper::Request::post(format!("https://localhost{path}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(Full::new(Bytes::from(frame)))
            .unwrap();
        let resp = self.sender.send_request(req).await.map_err(|e| format!("request: {e}"))?;
        let headers = resp.headers().clone();
        let collected = resp.into_body().collect().await.map_err(|e| format!("body: {e}"))?;
        let trailers = collected.trailers().cloned().unwrap_or_default();
        let status =
            trailers.get("grpc-status").or_else(|| headers.get("grpc-status")).and_then(|v| v.to_str().ok()).unwrap_or("?").to_owned();
        if status != "0" {
            let msg = trailers.get("grpc-message").or_else(|| headers.get("grpc-message")).and_then(|v| v.to_str().ok()).unwrap_or("");
            return Err(format!("grpc-status {status}: {msg}"));
        }
        let body = collected.to_bytes();
        if body.len() < 5 {
            return Ok(Vec::new());
        }
        Ok(body[5..].to_vec())
    }
}
