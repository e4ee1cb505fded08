//! The simulator's own CA (key and certificate kept in the state directory and reused across
//! restarts) and a fresh server certificate for 127.0.0.1, localhost and ::1 on each start.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::{Error, Result};

pub(crate) struct Tls {
    pub ca_pem: String,
    pub ca_file: PathBuf,
    pub server: Arc<rustls::ServerConfig>,
}

/// CA parameters are fixed so the persisted key plus these parameters reproduce the same issuer.
fn ca_params() -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "trench-armsim local CA");
    dn.push(DnType::OrganizationName, "trench");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2049, 12, 31);
    p
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io { action, path: path.to_path_buf(), source }
}

fn tls_err(what: &str) -> impl FnOnce(rcgen::Error) -> Error + '_ {
    move |e| Error::Tls(format!("{what}: {e}"))
}

pub(crate) fn load_or_create(dir: &Path) -> Result<Tls> {
    let key_path = dir.join("ca.key");
    let ca_file = dir.join("ca.pem");
    let (key, fresh) = match std::fs::read_to_string(&key_path) {
        Ok(pem) => (
            KeyPair::from_pem(&pem).map_err(|e| Error::State { path: key_path.clone(), reason: format!("not a PEM private key ({e})") })?,
            false,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let k = KeyPair::generate().map_err(tls_err("generating the CA key"))?;
            crate::persist::write_atomic(&key_path, k.serialize_pem().as_bytes())?;
            restrict(&key_path);
            (k, true)
        }
        Err(e) => return Err(io("reading", &key_path)(e)),
    };
    let params = ca_params();
    let ca_pem = if !fresh && ca_file.exists() {
        std::fs::read_to_string(&ca_file).map_err(io("reading", &ca_file))?
    } else {
        let cert = params.self_signed(&key).map_err(tls_err("self-signing the CA"))?;
        let pem = cert.pem();
        crate::persist::write_atomic(&ca_file, pem.as_bytes())?;
        pem
    };
    let issuer = Issuer::new(params, key);

    let server_key = KeyPair::generate().map_err(tls_err("generating the server key"))?;
    let mut sp = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string(), "::1".to_string()])
        .map_err(tls_err("server certificate names"))?;
    sp.distinguished_name.push(DnType::CommonName, "trench-armsim");
    let now = time::OffsetDateTime::now_utc();
    sp.not_before = now - time::Duration::days(1);
    sp.not_after = now + time::Duration::days(365);
    sp.use_authority_key_identifier_extension = true;
    sp.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    sp.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = sp.signed_by(&server_key, &issuer).map_err(tls_err("signing the server certificate"))?;

    let ca_der =
        rustls_pemfile_der(&ca_pem).ok_or_else(|| Error::State { path: ca_file.clone(), reason: "no certificate in ca.pem".into() })?;
    let chain = vec![server_cert.der().clone(), ca_der];
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| Error::Tls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let ca_file = std::fs::canonicalize(&ca_file).unwrap_or(ca_file);
    Ok(Tls { ca_pem, ca_file, server: Arc::new(cfg) })
}

fn rustls_pemfile_der(pem: &str) -> Option<CertificateDer<'static>> {
    use base64::Engine;
    let body: String =
        pem.lines().skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE")).skip(1).take_while(|l| !l.starts_with("-----END")).collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok().map(CertificateDer::from)
}

#[cfg(unix)]
fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}
#[cfg(not(unix))]
fn restrict(_: &Path) {}
