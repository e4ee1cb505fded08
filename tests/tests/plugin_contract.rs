//! The go-plugin contract, tested on the real binary: handshake line,
//! mutual TLS that really authenticates Terraform, Shutdown, and the
//! friendly refusal when run by hand.

use std::process::Command;
use std::time::Duration;

use trench_e2e::bin;
use trench_e2e::plugin::{ClientAuth, ClientIdentity, PluginProcess, connect};

const GET_SCHEMA: &str = "/tfplugin6.Provider/GetProviderSchema";
const SHUTDOWN: &str = "/plugin.GRPCController/Shutdown";
const HEALTH: &str = "/grpc.health.v1.Health/Check";

#[test]
fn running_the_binary_by_hand_prints_a_friendly_message_and_fails() {
    let out = Command::new(bin("terraform-provider-trench")).env_remove("TF_PLUGIN_MAGIC_COOKIE").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing on stdout, where go-plugin expects the handshake");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("This binary is a plugin"), "{err}");
}

#[test]
fn a_terraform_that_speaks_only_protocol_5_is_refused() {
    let out = Command::new(bin("terraform-provider-trench"))
        .env("TF_PLUGIN_MAGIC_COOKIE", trench_e2e::plugin::MAGIC_COOKIE.1)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("speaks only protocol 6"));
}

#[tokio::test]
async fn only_terraforms_client_certificate_gets_a_session() {
    let terraform = ClientIdentity::generate();
    let mut p = PluginProcess::spawn(&bin("terraform-provider-trench"), &terraform.cert_pem).unwrap();
    assert_eq!(p.network, "unix");
    assert!(p.handshake.starts_with("1|6|unix|"), "{}", p.handshake);

    // The right certificate: schema and health answered.
    let mut ok = connect(&p, ClientAuth::Cert(&terraform)).await.expect("Terraform's certificate is accepted");
    let schema = ok.call(GET_SCHEMA, &[]).await.unwrap();
    assert!(String::from_utf8_lossy(&schema).contains("trench_conventions"));
    let health = ok.call(HEALTH, b"\x0a\x06plugin").await.unwrap();
    assert_eq!(health, vec![0x08, 0x01], "service \"plugin\" is SERVING");

    // Anything else gets no session at all.
    let refused = [
        ("no client certificate", connect(&p, ClientAuth::NoCert).await),
        ("another P-521 certificate", connect(&p, ClientAuth::Cert(&ClientIdentity::generate())).await),
        ("plaintext h2", connect(&p, ClientAuth::Plaintext).await),
    ];
    for (what, conn) in refused {
        match conn {
            Err(_) => {}
            // TLS 1.3 lets the client finish before the server's verdict
            // arrives; the first call must then fail.
            Ok(mut c) => assert!(c.call(GET_SCHEMA, &[]).await.is_err(), "{what} must be refused"),
        }
    }

    // Shutdown is answered, then the process exits promptly and removes its socket.
    ok.call(SHUTDOWN, &[]).await.unwrap();
    assert!(p.wait_exit(Duration::from_secs(2)), "provider exits after Shutdown");
    assert!(!std::path::Path::new(&p.addr).exists(), "socket removed");
}

#[test]
fn debug_mode_prints_a_reattach_configuration() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(bin("terraform-provider-trench"))
        .arg("--debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut found = None;
    for _ in 0..6 {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if let Some(json) = line.trim().strip_prefix("TF_REATTACH_PROVIDERS='").and_then(|l| l.strip_suffix('\'')) {
            found = Some(json.to_owned());
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let v: serde_json::Value = serde_json::from_str(&found.expect("reattach line printed")).unwrap();
    let p = &v["registry.terraform.io/trench-lab/trench"];
    assert_eq!(p["ProtocolVersion"], 6);
    assert_eq!(p["Test"], true);
    assert_eq!(p["Addr"]["Network"], "unix");
}
