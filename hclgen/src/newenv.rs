//! `trench-hclgen new`: a new environment's estate.toml, started from an
//! existing one (its location, tags and workloads) with prod-grade values:
//! purge protection on, registry admin user off, strict egress, larger
//! pools and the azurerm backend. Address spaces move up by ten in the
//! second octet (10.0.0.0/16 becomes 10.10.0.0/16) so the two never clash.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;

use crate::problem::Problems;

fn shifted(n: &Ipv4Net) -> String {
    let o = n.network().octets();
    format!("{}.{}.{}.{}/{}", o[0], o[1].saturating_add(10), o[2], o[3], n.prefix_len())
}

fn list(xs: &[String]) -> String {
    format!("[{}]", xs.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>().join(", "))
}

/// The estate.toml text of `env`, derived from the resolved `from` estate.
pub fn estate_toml(env: &str, from: &crate::estate::Estate) -> String {
    let space = |n: &crate::estate::Network| list(&n.address_space.iter().map(shifted).collect::<Vec<_>>());
    let mut t = format!(
        "# The {env} estate: started by `trench-hclgen new --env {env} --from {}` with prod-grade values.\n# Edit freely, then run `trench-hclgen generate --env {env}`.\n\nenvironment = {env:?}\nlocation = {:?}\npostgresql_administrator_password_version = 1\n\n[tags]\n",
        from.environment, from.location
    );
    for (k, v) in &from.tags {
        let _ = writeln!(t, "{} = {v:?}", if k.contains('-') { format!("{k:?}") } else { k.clone() });
    }
    // The bundle's state storage, which the backend points at.
    let state = trench_conventions::names::bundle(env);
    let _ = write!(
        t,
        "\n# State in Azure Storage with Entra ID auth and blob-lease locking (ops/runbooks/bootstrap-oidc-and-state.md).\n[backend]\ntype = \"azurerm\"\nresource_group_name = {:?}\nstorage_account_name = {:?}\ncontainer_name = {:?}\nkey = \"{env}.terraform.tfstate\"\nuse_oidc = true\n",
        state.resource_group, state.storage_account, state.container,
    );
    let _ = write!(
        t,
        "\n[hub]\naddress_space = {}\nfirewall_sku_tier = \"Standard\"\nthreat_intel_mode = \"Deny\"\negress_mode = \"strict\"\nadmin_cidrs = {}\n",
        space(&from.hub.network),
        list(&from.hub.admin_cidrs.iter().map(ToString::to_string).collect::<Vec<_>>())
    );
    let _ = write!(t, "\n[spoke]\naddress_space = {}\n", space(&from.spoke));
    let _ = write!(
        t,
        "\n[aks]\nsku_tier = \"Standard\"\n\n[aks.system_pool]\nvm_size = \"Standard_D4s_v5\"\nnode_count = 3\n\n[aks.node_pools.user]\nvm_size = \"Standard_D4s_v5\"\nmin_count = 2\nmax_count = 5\nlabels = {{ workload = \"apps\" }}\n\n[aks.node_pools.infra]\nvm_size = \"Standard_D4s_v5\"\nnode_count = 2\nlabels = {{ workload = \"infra\" }}\ntaints = [\"workload=infra:NoSchedule\"]\n"
    );
    let p = &from.paas;
    let _ = write!(
        t,
        "\n[paas]\nacr_sku = \"Standard\"\nacr_admin_enabled = false\nkey_vault_purge_protection = true\nkey_vault_soft_delete_retention_days = 90\nkey_vault_on_soft_deleted = \"fail\"\npostgresql_version = {:?}\npostgresql_sku_name = \"Standard_D2ds_v5\"\npostgresql_storage_gb = 128\npostgresql_databases = {}\nservice_bus_queues = {}\nlog_analytics_retention_days = 90\ncosmos_db = {}\n",
        p.postgresql_version,
        list(&p.postgresql_databases),
        list(&p.service_bus_queues),
        p.cosmos_db
    );
    for (name, w) in &from.workloads {
        let _ = write!(
            t,
            "\n[workloads.{name}]\nnamespace = {:?}\nservice_account = {:?}\nroles = {}\n",
            w.namespace,
            w.service_account,
            list(&w.roles)
        );
    }
    t
}

/// Writes `env/<env>/estate.toml` under `root` from `env/<from>/`; refuses
/// to overwrite an existing one.
pub fn create(root: &Path, env: &str, from: &str) -> Result<PathBuf, Problems> {
    let path = root.join("env").join(env).join("estate.toml");
    let shown = format!("env/{env}/estate.toml");
    if path.exists() {
        return Err(Problems::one(&shown, "", "already exists; edit it, or remove it to start again"));
    }
    trench_conventions::check_environment(env).map_err(|m| Problems::one(&shown, "environment", m))?;
    let base = crate::load(root, from)?;
    let text = estate_toml(env, &base);
    // What we write must itself be a valid estate.
    let file = crate::estate::parse(&shown, &text)?;
    crate::resolve::resolve(&shown, &file)?;
    std::fs::create_dir_all(path.parent().expect("env dir")).map_err(|e| Problems::one(&shown, "", e.to_string()))?;
    std::fs::write(&path, text).map_err(|e| Problems::one(&shown, "", e.to_string()))?;
    Ok(path)
}
