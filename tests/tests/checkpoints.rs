//! The operators' checkpoints (`estate-plan.md`, Phase 1–2) held against env/dev as applied by the
//! real terraform: what the jump host's VNet resolves, what the nodes may reach, and what the
//! estate's identities may do.
//! armsim answers from its ARM state (`/_sim/check/…`, see armsim/PARITY.md); each check is also
//! shown failing on a deliberately broken copy, so none can pass vacuously.

use reqwest::Method;
use serde_json::Value as Json;
use trench_e2e::sim::Sim;
use trench_e2e::terraform::Workspace;

fn q(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn resolve(sim: &Sim, from: &str, name: &str) -> Json {
    sim.admin(Method::GET, &format!("check/dns?from={}&name={}", q(from), q(name)), None).await
}

async fn may(sim: &Sim, principal: &str, action: &str, scope: &str) -> Json {
    let kind = if action.starts_with("data:") { "dataAction" } else { "action" };
    let action = action.trim_start_matches("data:");
    sim.admin(Method::GET, &format!("check/authz?principal={principal}&{kind}={}&scope={}", q(action), q(scope)), None).await
}

async fn reach(sim: &Sim, from: &str, to: &str, port: u16) -> Json {
    sim.admin(Method::GET, &format!("check/egress?from={}&to={}&port={port}", q(from), q(to)), None).await
}

fn host(url_or_fqdn: &str) -> String {
    url_or_fqdn.trim_start_matches("https://").trim_end_matches('/').split(['/', ':']).next().unwrap_or_default().to_owned()
}

fn str_out(ws: &Workspace, name: &str) -> String {
    ws.output_json(name).as_str().unwrap_or_else(|| panic!("output {name} is not a string")).to_owned()
}

#[tokio::test]
async fn env_dev_passes_the_dns_egress_and_identity_checkpoints_and_each_check_fails_when_broken() {
    let sim = Sim::start(&[]);
    let mut ws = Workspace::from_repo(&["modules", "env"], "env/dev");
    ws.env = sim.provider_env();
    ws.env.push(("TF_VAR_postgresql_administrator_password".into(), "Example-Passw0rd!".into()));
    ws.tf(&["init", "-input=false"]).ok();
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    assert!(ws.plan_is_empty(), "the plan after apply");

    let hub_vnet = str_out(&ws, "hub_id");
    let cluster_id = str_out(&ws, "aks_cluster_id");
    let cluster = sim.admin(Method::GET, &format!("resources{cluster_id}"), None).await;
    let nodes_subnet = ws.output_json("spoke_subnet_ids")["aks-nodes"].as_str().unwrap().to_owned();

    // Phase 2.1: `kubectl get nodes` from the jump host needs the private API server's name.
    let api = str_out(&ws, "aks_private_fqdn");
    let r = resolve(&sim, &hub_vnet, &api).await;
    assert_eq!(r["answer"]["kind"], "private", "the API server from the hub: {r:#}");
    // The PaaS names resolve to their private endpoints from the hub.
    let pe_ips = ws.output_json("private_endpoint_ips");
    for (output, what) in [("key_vault_uri", "Key Vault"), ("postgresql_fqdn", "PostgreSQL")] {
        let name = host(&str_out(&ws, output));
        let r = resolve(&sim, &hub_vnet, &name).await;
        assert_eq!(r["answer"]["kind"], "private", "{what} ({name}) from the hub: {r:#}");
        let ip = r["answer"]["ips"][0].as_str().unwrap_or_default();
        assert!(
            pe_ips.as_object().unwrap().values().any(|v| v.as_str() == Some(ip)),
            "{what} resolves to {ip}, not a private endpoint: {pe_ips}"
        );
    }

    // Egress from the nodes: what the cluster and its add-ons need passes the firewall (a Basic
    // registry serves layers from Azure Storage; the storage host name is Azure's, any under
    // blob.core.windows.net); private services stay inside; anything else is denied.
    let needed = [
        ("mcr.microsoft.com".to_owned(), 443),
        ("management.azure.com".to_owned(), 443),
        (host(&str_out(&ws, "acr_login_server")), 443),
        ("weuprodregistry.blob.core.windows.net".to_owned(), 443),
        (host(&str_out(&ws, "service_bus_endpoint")), 443),
        (host(&str_out(&ws, "service_bus_endpoint")), 5671),
        (host(&str_out(&ws, "key_vault_uri")), 443),
        (host(&str_out(&ws, "postgresql_fqdn")), 5432),
        ("global.handler.control.monitor.azure.com".to_owned(), 443),
        ("westeurope.ingest.monitor.azure.com".to_owned(), 443),
        (api.clone(), 443),
    ];
    for (to, port) in &needed {
        let r = reach(&sim, &nodes_subnet, to, *port).await;
        assert_eq!(r["allowed"], true, "aks-nodes → {to}:{port}: {r:#}");
    }
    for (to, port) in [("example.com", 443), ("mcr.microsoft.com", 22)] {
        let r = reach(&sim, &nodes_subnet, to, port).await;
        assert_eq!(r["allowed"], false, "aks-nodes → {to}:{port}: {r:#}");
    }

    // The plan's default-deny NetworkPolicies need an engine that enforces them.
    assert_eq!(cluster["body"]["properties"]["networkProfile"]["networkPolicy"], "cilium", "network policy engine");

    // Identities: the kubelet pulls from the registry, the workload reads secrets and sends orders,
    // the cluster's own identity manages its subnet and route table (internal load balancers).
    let kubelet = cluster["body"]["properties"]["identityProfile"]["kubeletidentity"]["objectId"].as_str().unwrap().to_owned();
    let control_plane = cluster["body"]["identity"]["principalId"].as_str().unwrap().to_owned();
    let workload = ws.output_json("workload_principal_ids")["catalog-api"].as_str().unwrap().to_owned();
    let acr = str_out(&ws, "acr_id");
    let vault = str_out(&ws, "key_vault_id");
    let queue = format!("{}/queues/orders", str_out(&ws, "service_bus_id"));
    let subnet = sim.admin(Method::GET, &format!("resources{nodes_subnet}"), None).await;
    let route_table = subnet["body"]["properties"]["routeTable"]["id"].as_str().unwrap().to_owned();
    let allowed = [
        (&kubelet, "Microsoft.ContainerRegistry/registries/pull/read", &acr),
        (&workload, "data:Microsoft.KeyVault/vaults/secrets/getSecret/action", &vault),
        (&workload, "data:Microsoft.ServiceBus/namespaces/messages/send/action", &queue),
        (&control_plane, "Microsoft.Network/virtualNetworks/subnets/join/action", &nodes_subnet),
        (&control_plane, "Microsoft.Network/routeTables/write", &route_table),
    ];
    for (who, action, scope) in allowed {
        let r = may(&sim, who, action, scope).await;
        assert_eq!(r["allowed"], true, "{action} at {scope}: {r:#}");
    }
    // And no more than that.
    let denied = [
        (&kubelet, "Microsoft.ContainerRegistry/registries/push/write", &acr),
        (&workload, "data:Microsoft.ServiceBus/namespaces/messages/receive/action", &queue),
        (&workload, "data:Microsoft.KeyVault/vaults/secrets/setSecret/action", &vault),
    ];
    for (who, action, scope) in denied {
        let r = may(&sim, who, action, scope).await;
        assert_eq!(r["allowed"], false, "{action} at {scope}: {r:#}");
    }

    // The same question through the CLI an operator uses: exit status 0 when the name resolves.
    let cli = |args: &[&str]| {
        std::process::Command::new(trench_e2e::bin("trench-armsim"))
            .arg("check")
            .arg("--state-dir")
            .arg(sim.dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let out = cli(&["dns", "--from", &hub_vnet, "--name", &api]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("\"private\""), "trench-armsim check dns: {out:?}");
    let out = cli(&["egress", "--from", &nodes_subnet, "--to", "example.com", "--port", "443"]);
    assert_eq!(out.status.code(), Some(1), "trench-armsim check egress to a denied site: {out:?}");

    // Broken copies: without the hub's link the API server does not resolve from the hub, and
    // without the AcrPull assignment the kubelet cannot pull.
    let r = resolve(&sim, &hub_vnet, &api).await;
    let link = r["chain"][0]["id"].as_str().unwrap().to_owned();
    sim.admin(Method::DELETE, &format!("resources{link}"), None).await;
    let r = resolve(&sim, &hub_vnet, &api).await;
    assert_ne!(r["answer"]["kind"], "private", "the API server from the hub without the link: {r:#}");
    // Both that link and the cluster identity's rights on the route table are trench's: their loss
    // is drift, and the next apply puts them back.
    let rt_write = may(&sim, &control_plane, "Microsoft.Network/routeTables/write", &route_table).await;
    let rt_role = rt_write["chain"].as_array().unwrap().iter().find(|s| s["id"].as_str().unwrap().starts_with(&route_table)).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.admin(Method::DELETE, &format!("resources{rt_role}"), None).await;
    assert_eq!(may(&sim, &control_plane, "Microsoft.Network/routeTables/write", &route_table).await["allowed"], false);
    assert!(!ws.plan_is_empty(), "the lost link and role assignment show as drift");
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    assert_eq!(resolve(&sim, &hub_vnet, &api).await["answer"]["kind"], "private", "the link is back");
    assert_eq!(may(&sim, &control_plane, "Microsoft.Network/routeTables/write", &route_table).await["allowed"], true, "the role is back");
    assert!(ws.plan_is_empty(), "the plan after the repair");
    sim.admin(Method::DELETE, &format!("resources{link}"), None).await;
    // Without the vault zone's link to the hub, the vault's name leads to its public endpoint.
    let kv = host(&str_out(&ws, "key_vault_uri"));
    let r = resolve(&sim, &hub_vnet, &kv).await;
    let kv_link =
        r["chain"].as_array().unwrap().iter().find(|s| s["step"] == "virtual network link").unwrap()["id"].as_str().unwrap().to_owned();
    sim.admin(Method::DELETE, &format!("resources{kv_link}"), None).await;
    let r = resolve(&sim, &hub_vnet, &kv).await;
    assert_eq!(r["answer"]["kind"], "public", "the vault from the hub without its zone's link: {r:#}");
    let pull = may(&sim, &kubelet, "Microsoft.ContainerRegistry/registries/pull/read", &acr).await;
    let assignment = pull["chain"].as_array().unwrap().iter().find(|s| s["detail"].as_str().unwrap().contains("grants")).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.admin(Method::DELETE, &format!("resources{assignment}"), None).await;
    let r = may(&sim, &kubelet, "Microsoft.ContainerRegistry/registries/pull/read", &acr).await;
    assert_eq!(r["allowed"], false, "the kubelet without AcrPull: {r:#}");
    // Without the rule collection group that allowed it, the registry is out of reach.
    let r = reach(&sim, &nodes_subnet, "mcr.microsoft.com", 443).await;
    let group = r["chain"].as_array().unwrap().iter().find(|s| s["step"] == "application rule").unwrap()["id"].as_str().unwrap().to_owned();
    sim.admin(Method::DELETE, &format!("resources{group}"), None).await;
    let r = reach(&sim, &nodes_subnet, "mcr.microsoft.com", 443).await;
    assert_eq!(r["allowed"], false, "aks-nodes → mcr.microsoft.com without the rule collection group: {r:#}");
}
