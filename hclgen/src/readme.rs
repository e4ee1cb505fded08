//! `env/<name>/README.md`: a Mermaid diagram of the estate (hub, spokes,
//! peerings, the firewall egress path, AKS, private endpoints and DNS
//! zones) and tables of the address plan and resource names, rendered by
//! GitHub. Names come from the conventions crate, so they match the
//! provider's.

use std::fmt::Write as _;

use trench_conventions::{estate_names, names};

use crate::estate::{Backend, EgressMode, Estate, Network};

fn space(n: &Network) -> String {
    n.address_space.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

fn subnet(n: &Network, name: &str) -> String {
    n.subnets.get(name).map(ToString::to_string).unwrap_or_default()
}

fn diagram(e: &Estate) -> String {
    let env = &e.environment;
    let names = estate_names(env);
    let n = |k: &str| names.get(k).map(|x| x.name.clone()).unwrap_or_default();
    let egress = match e.hub.egress_mode {
        EgressMode::Strict => "strict egress: AKS, registries, your rules",
        EgressMode::Loose => "loose egress: allow all (bring-up)",
    };
    let mut m = String::from("```mermaid\nflowchart LR\n  internet((\"Internet\"))\n");
    let _ = writeln!(m, "  subgraph core[\"{}\"]", n("core_resource_group"));
    let _ = writeln!(m, "    subgraph hubvnet[\"Hub VNet {} · {}\"]", n("hub_vnet"), space(&e.hub.network));
    let _ = writeln!(
        m,
        "      fw{{{{\"Azure Firewall {}<br/>{} · {egress}\"}}}}",
        n("firewall"),
        subnet(&e.hub.network, "AzureFirewallSubnet")
    );
    if let Some(j) = &e.hub.jump_host {
        let _ = writeln!(
            m,
            "      jump[\"Jump host {} ({})<br/>shared-services {}\"]",
            n("jump_host_vm"),
            j.size,
            subnet(&e.hub.network, "shared-services")
        );
    }
    m.push_str("    end\n");
    let _ = writeln!(m, "    acr[(\"ACR {}\")]", n("container_registry"));
    let _ = writeln!(m, "    kv[(\"Key Vault {}\")]", n("key_vault"));
    let _ = writeln!(m, "    sb[(\"Service Bus {}<br/>queues: {}\")]", n("service_bus_namespace"), e.paas.service_bus_queues.join(", "));
    let _ = writeln!(m, "    law[(\"Log Analytics {}\")]", n("log_analytics_workspace"));
    let _ = writeln!(m, "    state[(\"State {} / tfstate\")]", n("state_storage_account"));
    if e.paas.cosmos_db {
        let _ = writeln!(m, "    cosmos[(\"Cosmos DB {}\")]", n("cosmos_account"));
        m.push_str("    dnscosmos[\"privatelink.documents.azure.com\"]\n");
    }
    m.push_str("    dnskv[\"privatelink.vaultcore.azure.net\"]\n    dnspg[\"privatelink.postgres.database.azure.com\"]\n  end\n");
    let _ = writeln!(m, "  subgraph aksrg[\"{}\"]", n("aks_resource_group"));
    let _ = writeln!(m, "    subgraph spokevnet[\"Spoke VNet {} · {}\"]", n("spoke_vnet"), space(&e.spoke));
    let _ = writeln!(m, "      nodes[\"aks-nodes {}<br/>route table {}\"]", subnet(&e.spoke, "aks-nodes"), n("route_table"));
    let _ = writeln!(m, "      pes[\"private-endpoints {}\"]", subnet(&e.spoke, "private-endpoints"));
    m.push_str("    end\n");
    let pools: Vec<String> = std::iter::once("system".to_owned()).chain(e.aks.node_pools.keys().cloned()).collect();
    let _ = writeln!(m, "    aks[\"Private AKS {}<br/>pools: {}\"]", n("aks_cluster"), pools.join(", "));
    m.push_str("  end\n");
    let _ = writeln!(m, "  subgraph data[\"{}\"]", n("data_resource_group"));
    let _ = writeln!(m, "    pg[(\"PostgreSQL {}<br/>databases: {}\")]", n("postgresql_server"), e.paas.postgresql_databases.join(", "));
    m.push_str("  end\n");
    for (name, net) in &e.extra_spokes {
        let _ = writeln!(m, "  subgraph spoke_{name}[\"Spoke VNet {} · {}\"]\n  end", names::spoke(name, env).vnet, space(net));
        let _ = writeln!(m, "  hubvnet <-->|\"peering\"| spoke_{name}");
        let _ = writeln!(m, "  spoke_{name} -->|\"0.0.0.0/0\"| fw");
    }
    m.push_str("  hubvnet <-->|\"peering\"| spokevnet\n");
    m.push_str("  aks --- nodes\n  nodes -->|\"0.0.0.0/0\"| fw\n  fw -->|\"public IP\"| internet\n");
    m.push_str("  pes -.->|\"private endpoint\"| kv\n  pes -.->|\"private endpoint\"| pg\n");
    if e.paas.cosmos_db {
        m.push_str("  pes -.->|\"private endpoint\"| cosmos\n  dnscosmos -.-|\"linked\"| hubvnet\n  dnscosmos -.-|\"linked\"| spokevnet\n");
    }
    m.push_str("  dnskv -.-|\"linked\"| hubvnet\n  dnskv -.-|\"linked\"| spokevnet\n  dnspg -.-|\"linked\"| hubvnet\n  dnspg -.-|\"linked\"| spokevnet\n");
    m.push_str("  aks -->|\"AcrPull\"| acr\n  aks -->|\"Container Insights\"| law\n  fw -->|\"allowed by IP\"| sb\n");
    for (w, wl) in &e.workloads {
        let id = w.replace('-', "_");
        let _ = writeln!(m, "  wl_{id}[\"Workload identity {}<br/>{}:{}\"]", names::identity(w, env), wl.namespace, wl.service_account);
        let _ = writeln!(m, "  aks -.->|\"OIDC federation\"| wl_{id}");
        if wl.roles.iter().any(|r| r.starts_with("Key Vault")) {
            let _ = writeln!(
                m,
                "  wl_{id} -->|\"{}\"| kv",
                wl.roles.iter().filter(|r| r.starts_with("Key Vault")).cloned().collect::<Vec<_>>().join(", ")
            );
        }
        if wl.roles.iter().any(|r| r.starts_with("Azure Service Bus")) {
            let _ = writeln!(
                m,
                "  wl_{id} -->|\"{}\"| sb",
                wl.roles.iter().filter(|r| r.starts_with("Azure Service Bus")).cloned().collect::<Vec<_>>().join(", ")
            );
        }
    }
    m.push_str("```\n");
    m
}

/// The README of `env/<name>/`.
pub fn overlay(e: &Estate) -> String {
    let env = &e.environment;
    let mut r = format!(
        "<!-- Generated by trench-hclgen from env/{env}/estate.toml. Do not edit: change estate.toml, then run `trench-hclgen generate --env {env}`. -->\n# Environment `{env}`\n\nThe {env} hub–spoke estate in `{}`, described by [`estate.toml`](estate.toml) and applied through [`modules/estate`](../../modules/estate).\n\n",
        e.location
    );
    r.push_str(&diagram(e));
    r.push_str("\n## Address plan\n\n| Network | Address space | Subnet | Prefix |\n|---|---|---|---|\n");
    let spoke = |n: &str| format!("spoke `{}`", names::spoke(n, env).vnet);
    let mut nets: Vec<(String, &Network)> =
        vec![(format!("hub `{}`", names::hub(env).vnet), &e.hub.network), (spoke(names::DEFAULT_SPOKE), &e.spoke)];
    nets.extend(e.extra_spokes.iter().map(|(n, net)| (spoke(n), net)));
    for (label, net) in nets {
        for (i, (sub, p)) in net.subnets.iter().enumerate() {
            let (l, sp) = if i == 0 { (label.as_str(), space(net)) } else { ("", String::new()) };
            let _ = writeln!(r, "| {l} | {sp} | `{sub}` | {p} |");
        }
    }
    let _ = writeln!(r, "| AKS services (inside the cluster) | 172.16.0.0/16 | pods (overlay) | 192.168.0.0/16 |");
    r.push_str("\n## Resource names\n\n| Object | Name | Azure type | Fits Azure's rule |\n|---|---|---|:-:|\n");
    for (k, n) in estate_names(env) {
        // Only what this estate has; workload identities are listed below.
        let absent = (k.starts_with("jump_host_") && e.hub.jump_host.is_none())
            || (k == "cosmos_account" && !e.paas.cosmos_db)
            || k == "catalog_api_identity";
        if absent {
            continue;
        }
        let ok = if n.azure_type.check(&n.name).is_ok() { "yes" } else { "**no**" };
        let _ = writeln!(r, "| {} | `{}` | `{}` | {ok} |", k.replace('_', " "), n.name, n.azure_type.arm_type());
    }
    for w in e.workloads.keys() {
        let name = names::identity(w, env);
        let ok = if trench_conventions::AzureType::UserAssignedIdentity.check(&name).is_ok() { "yes" } else { "**no**" };
        let _ = writeln!(r, "| {w} identity | `{name}` | `Microsoft.ManagedIdentity/userAssignedIdentities` | {ok} |");
    }
    if !e.workloads.is_empty() {
        r.push_str("\n## Workloads\n\n| Workload | Service account | Roles |\n|---|---|---|\n");
        for (w, wl) in &e.workloads {
            let _ = writeln!(r, "| {w} | `system:serviceaccount:{}:{}` | {} |", wl.namespace, wl.service_account, wl.roles.join(", "));
        }
    }
    let p = &e.paas;
    r.push_str("\n## Settings\n\n| Setting | Value |\n|---|---|\n");
    for (k, v) in [
        (
            "Firewall",
            format!("{} tier, threat intel {}, egress {}", e.hub.firewall_sku_tier, e.hub.threat_intel_mode, e.hub.egress_mode.as_str()),
        ),
        ("Jump host", e.hub.jump_host.as_ref().map(|j| format!("{} ({})", j.size, j.admin_username)).unwrap_or_else(|| "none".into())),
        ("AKS", format!("{} tier, system pool {} × {}", e.aks.sku_tier, e.aks.system_pool.node_count, e.aks.system_pool.vm_size)),
        ("Container registry", format!("{}, admin user {}", p.acr_sku, if p.acr_admin_enabled { "on" } else { "off" })),
        (
            "Key Vault",
            format!(
                "RBAC, private, soft delete {} days, purge protection {}",
                p.key_vault_soft_delete_retention_days,
                if p.key_vault_purge_protection { "on" } else { "off" }
            ),
        ),
        ("PostgreSQL", format!("{} on {}, {} GB", p.postgresql_version, p.postgresql_sku_name, p.postgresql_storage_gb)),
        (
            "State",
            match &e.backend {
                Backend::Local { path } => format!("local (`{path}`)"),
                Backend::Azurerm { storage_account_name, container_name, key, .. } => {
                    format!("azurerm `{storage_account_name}/{container_name}/{key}`")
                }
            },
        ),
    ] {
        let _ = writeln!(r, "| {k} | {v} |");
    }
    let _ = write!(
        r,
        "\n## Run\n\n```sh\nexport TF_VAR_postgresql_administrator_password='…'   # never stored: the attribute is write-only\nterraform init\nterraform plan\nterraform apply\n```\n\nFrom the repository root, `make demo` applies this environment against the local simulator instead of Azure.\n"
    );
    r
}
