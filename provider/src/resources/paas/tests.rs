//! Plan-time behaviour of trench_paas_bundle that needs no ARM: validation
//! with attribute paths, defaults, refusals of changes Azure cannot make in
//! place, and how observed objects map back into state and drift.

use serde_json::{Value as Json, json};

use super::spec::*;
use super::spec::{AcrSpec, BundleIds, BundleNames, KvSpec, OnSoftDeleted, PgSpec, SbSpec, Slot, Target, flatten, sku_tier, want};
use super::*;
use crate::resources::common::Env;
use crate::resources::composite::{Bodies, Specs, fill_for_create};
use crate::resources::testing::{self, num, set as strs};
use trench_plugin::value::{Value, from_value};

const SUB: &str = "00000000-0000-4000-8000-000000000002";

fn sample() -> BundleSpec {
    let names = BundleNames {
        resource_group: "rg-trench-core-dev".into(),
        data_resource_group: "rg-trench-data-dev".into(),
        acr: "trenchacrcoredev".into(),
        key_vault: "trench-core-kv-dev".into(),
        postgresql: "trench-data-pg-dev".into(),
        service_bus: "trench-core-sb-dev".into(),
        log_analytics: "trench-core-law-dev".into(),
        storage_account: "trenchtfstatecoredev".into(),
        container: "tfstate".into(),
        cosmos: "trench-core-cosmos-dev".into(),
        env: "dev".into(),
    };
    let vnet = |rg: &str, n: &str| ResourceId::resource(SUB, rg, "Microsoft.Network", "virtualNetworks", n);
    BundleSpec {
        ids: BundleIds { subscription: SUB.into(), names },
        location: "westeurope".into(),
        tags: crate::resources::common::with_owner(
            crate::resources::common::tags_all(&BTreeMap::new(), "dev", None),
            "trench_paas_bundle",
            "trench-core-kv-dev",
        ),
        endpoint_subnet: vnet("rg-trench-aks-dev", "trench-aks-vnet-dev").child("subnets", "private-endpoints"),
        // Sorted, as spec_from keeps them.
        dns_vnets: vec![vnet("rg-trench-aks-dev", "trench-aks-vnet-dev"), vnet("rg-trench-core-dev", "trench-core-vnet-dev")],
        firewall_public_ip: Some("20.1.2.3".into()),
        admin_cidrs: vec!["203.0.113.0/24".into()],
        acr: AcrSpec { sku: "Basic".into(), admin_enabled: true, public_network_access: true },
        kv: KvSpec {
            sku: "standard".into(),
            retention_days: 7,
            purge_protection: false,
            on_soft_deleted: OnSoftDeleted::Recover,
            purge_on_destroy: true,
            public_network_access: false,
        },
        pg: PgSpec {
            version: "17".into(),
            sku_name: "Standard_B1ms".into(),
            storage_gb: 32,
            auto_grow: true,
            databases: vec!["catalog".into(), "orders".into()],
            login: "trenchadmin".into(),
            password_version: None,
        },
        sb: SbSpec { sku: "Standard".into(), queues: vec!["orders".into()], default_action: "Deny".into() },
        law_retention_days: 30,
        state_storage: true,
        cosmos: true,
    }
}

#[test]
fn ids_and_bodies_of_every_owned_object() {
    let s = sample();
    let i = &s.ids;
    let mut bodies: BTreeMap<String, Json> = BTreeMap::new();
    let mut put = |id: ResourceId, b: Json| {
        bodies.insert(id.to_string(), b);
    };
    put(i.data_rg_id(), s.data_rg_body());
    put(i.acr_id(), s.acr_body());
    put(i.key_vault_id(), s.key_vault_body("00000000-0000-4000-8000-000000000001"));
    put(i.postgresql_id(), s.postgresql_body(Some("<secret>")));
    put(i.database_id("catalog"), BundleSpec::database_body());
    put(i.service_bus_id(), s.service_bus_body());
    put(i.queue_id("orders"), BundleSpec::queue_body());
    put(i.network_rules_id(), s.network_rules_body());
    put(i.log_analytics_id(), s.log_analytics_body());
    put(i.storage_account_id(), s.storage_account_body());
    put(i.container_id(), BundleSpec::container_body());
    put(i.cosmos_id(), s.cosmos_body());
    for t in s.targets() {
        put(i.endpoint_id(t), s.endpoint_body(t));
        put(i.zone_id(t), s.zone_body());
        for v in &s.dns_vnets {
            put(i.link_id(t, v), s.link_body(v));
        }
        for r in i.record_names(t, &s.location) {
            put(i.record_id(t, &r), BundleSpec::record_body("10.1.2.4"));
        }
    }
    put(i.deleted_vault_id("westeurope"), Json::Null);
    insta::assert_json_snapshot!(bodies);
}

#[test]
fn sku_tiers_follow_the_vm_family() {
    assert_eq!(sku_tier("Standard_B1ms"), Some("Burstable"));
    assert_eq!(sku_tier("Standard_D2ds_v5"), Some("GeneralPurpose"));
    assert_eq!(sku_tier("Standard_E4ds_v5"), Some("MemoryOptimized"));
    assert_eq!(sku_tier("B1ms"), None);
    assert_eq!(sku_tier("Standard_X1"), None);
}

#[test]
fn purge_protection_is_only_ever_sent_as_true() {
    let mut s = sample();
    assert!(s.key_vault_body("t")["properties"].get("enablePurgeProtection").is_none());
    s.kv.purge_protection = true;
    assert_eq!(s.key_vault_body("t")["properties"]["enablePurgeProtection"], json!(true));
}

#[test]
fn the_password_is_sent_only_when_given() {
    let s = sample();
    assert!(s.postgresql_body(None)["properties"].get("administratorLoginPassword").is_none());
    assert_eq!(s.postgresql_body(Some("x"))["properties"]["administratorLoginPassword"], json!("x"));
}

fn env() -> Env {
    Env { subscription: SUB.into(), ..Env::default() }
}

fn config(pairs: &[(&str, Value)]) -> Value {
    testing::config::<PaasBundle>(pairs)
}

fn errors(pairs: &[(&'static str, Value)]) -> Vec<String> {
    testing::validation_paths::<PaasBundle>(&config(&testing::overlay(base(), pairs)), true)
}

const SUBNET: &str = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-aks-dev/providers/Microsoft.Network/virtualNetworks/trench-aks-vnet-dev/subnets/private-endpoints";
const HUB: &str = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.Network/virtualNetworks/trench-core-vnet-dev";
const SPOKE: &str = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-aks-dev/providers/Microsoft.Network/virtualNetworks/trench-aks-vnet-dev";

fn base() -> Vec<(&'static str, Value)> {
    vec![
        ("environment", Value::string("dev")),
        ("location", Value::string("westeurope")),
        ("private_endpoint_subnet_id", Value::string(SUBNET)),
        ("dns_zone_vnet_ids", strs(&[HUB, SPOKE])),
        ("firewall_public_ip", Value::string("20.1.2.3")),
        (PASSWORD, Value::string("Tr3nch-Dev-Passw0rd!")),
    ]
}

#[test]
fn a_valid_bundle_has_no_diagnostics() {
    assert_eq!(errors(&[]), Vec::<String>::new());
    assert_eq!(
        errors(&[
            ("acr_sku", Value::string("Premium")),
            ("acr_public_network_access", Value::Bool(false)),
            ("key_vault_purge_protection", Value::Bool(true)),
            ("postgresql_sku_name", Value::string("Standard_D2ds_v5")),
            ("postgresql_storage_gb", num(128)),
            ("admin_cidrs", strs(&["203.0.113.0/24", "198.51.100.7/32"])),
            ("service_bus_sku", Value::string("Basic")),
            ("service_bus_default_action", Value::string("Allow")),
            ("cosmos_db_enabled", Value::Bool(true)),
        ]),
        Vec::<String>::new()
    );
}

#[test]
fn bad_inputs_name_their_attribute() {
    type Case = (Vec<(&'static str, Value)>, Vec<&'static str>);
    let cases: Vec<Case> = vec![
        (vec![("environment", Value::string("Dev"))], vec!["environment"]),
        (vec![("location", Value::string("West Europe"))], vec!["location"]),
        (vec![("acr_name", Value::string("trench-acr"))], vec!["acr_name"]),
        (vec![("acr_public_network_access", Value::Bool(false))], vec!["acr_public_network_access"]),
        (vec![("key_vault_name", Value::string("a-vault-name-that-is-too-long"))], vec!["key_vault_name"]),
        (vec![("key_vault_soft_delete_retention_days", num(91))], vec!["key_vault_soft_delete_retention_days"]),
        (vec![("key_vault_on_soft_deleted", Value::string("keep"))], vec!["key_vault_on_soft_deleted"]),
        (
            vec![("key_vault_purge_protection", Value::Bool(true)), ("key_vault_purge_on_destroy", Value::Bool(true))],
            vec!["key_vault_purge_on_destroy"],
        ),
        (vec![("postgresql_version", Value::string("19"))], vec!["postgresql_version"]),
        (vec![("postgresql_sku_name", Value::string("Standard_X1"))], vec!["postgresql_sku_name"]),
        (vec![("postgresql_storage_gb", num(33))], vec!["postgresql_storage_gb"]),
        (vec![("postgresql_databases", strs(&["azure_sys"]))], vec!["postgresql_databases"]),
        (vec![("postgresql_administrator_login", Value::string("pg_admin"))], vec!["postgresql_administrator_login"]),
        (vec![(PASSWORD, Value::string("short1A"))], vec![PASSWORD]),
        (vec![(PASSWORD, Value::string("alllowercaseletters"))], vec![PASSWORD]),
        (vec![(PASSWORD_VERSION, num(-1))], vec![PASSWORD_VERSION]),
        (vec![("service_bus_name", Value::string("trench-sb"))], vec!["service_bus_name"]),
        (vec![("service_bus_sku", Value::string("Basic"))], vec!["service_bus_sku"]),
        (vec![("service_bus_queues", strs(&["orders_"]))], vec!["service_bus_queues"]),
        (vec![("service_bus_default_action", Value::string("Block"))], vec!["service_bus_default_action"]),
        (vec![("admin_cidrs", strs(&["10.0.0.1"]))], vec!["admin_cidrs"]),
        (vec![("firewall_public_ip", Value::string("20.1.2.0/24"))], vec!["firewall_public_ip"]),
        (vec![("private_endpoint_subnet_id", Value::string(SPOKE))], vec!["private_endpoint_subnet_id"]),
        (vec![("dns_zone_vnet_ids", strs(&[]))], vec!["dns_zone_vnet_ids"]),
        (vec![("dns_zone_vnet_ids", strs(&[SUBNET]))], vec!["dns_zone_vnet_ids"]),
        (vec![("log_analytics_retention_days", num(731))], vec!["log_analytics_retention_days"]),
        (vec![("state_container_name", Value::string("TF"))], vec!["state_container_name"]),
        (
            vec![("resource_group_name", Value::string("rg-x")), ("data_resource_group_name", Value::string("RG-X"))],
            vec!["data_resource_group_name"],
        ),
        (vec![("tags", Value::Map(BTreeMap::from([("a<b".to_owned(), Value::string("x"))])))], vec!["tags[\"a<b\"]"]),
    ];
    for (pairs, want) in cases {
        assert_eq!(errors(&pairs), want, "{pairs:?}");
    }
}

#[test]
fn unknown_values_are_left_for_later() {
    assert!(
        errors(&[
            ("private_endpoint_subnet_id", Value::unknown()),
            ("dns_zone_vnet_ids", Value::unknown()),
            ("firewall_public_ip", Value::unknown()),
            (PASSWORD, Value::unknown()),
        ])
        .is_empty()
    );
}

#[test]
fn defaults_follow_the_conventions() {
    let cfg_value = config(&base());
    let cfg: BundleConfig = from_value(&cfg_value).unwrap();
    let mut planned = cfg_value.clone();
    fill_for_create::<PaasBundle>(&mut planned, &cfg_value, &cfg);
    let s = |k: &str| planned.get_attr(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    assert_eq!(s("resource_group_name"), "rg-trench-core-dev");
    assert_eq!(s("data_resource_group_name"), "rg-trench-data-dev");
    assert_eq!(s("acr_name"), "trenchacrcoredev");
    assert_eq!(s("key_vault_name"), "trench-core-kv-dev");
    assert_eq!(s("postgresql_name"), "trench-data-pg-dev");
    assert_eq!(s("service_bus_name"), "trench-core-sb-dev");
    assert_eq!(s("state_storage_account_name"), "trenchtfstatecoredev");
    assert_eq!(planned.get_attr("postgresql_databases"), Some(&strs(&["catalog", "orders"])));
    assert_eq!(planned.get_attr("service_bus_queues"), Some(&strs(&["orders"])));
    assert_eq!(planned.get_attr("key_vault_public_network_access"), Some(&Value::Bool(false)), "private by default");
    assert_eq!(planned.get_attr("key_vault_purge_on_destroy"), Some(&Value::Bool(true)));
    let mut protected = base();
    protected.push(("key_vault_purge_protection", Value::Bool(true)));
    let pv = config(&protected);
    let pc: BundleConfig = from_value(&pv).unwrap();
    let mut planned = pv.clone();
    fill_for_create::<PaasBundle>(&mut planned, &pv, &pc);
    assert_eq!(planned.get_attr("key_vault_purge_on_destroy"), Some(&Value::Bool(false)), "a protected vault is never purged");
}

#[test]
fn changes_azure_cannot_make_in_place_are_refused_naming_the_attribute() {
    let prior = config(&[
        ("key_vault_soft_delete_retention_days", num(7)),
        ("key_vault_purge_protection", Value::Bool(true)),
        ("postgresql_administrator_login", Value::string("trenchadmin")),
        ("postgresql_version", Value::string("17")),
        ("postgresql_storage_gb", num(64)),
    ]);
    let planned: BundleConfig = from_value(&config(&[
        ("key_vault_soft_delete_retention_days", num(30)),
        ("key_vault_purge_protection", Value::Bool(false)),
        ("postgresql_administrator_login", Value::string("other")),
        ("postgresql_version", Value::string("16")),
        ("postgresql_storage_gb", num(32)),
    ]))
    .unwrap();
    let paths: Vec<String> = in_place_refusals(&prior, &planned).iter().map(|d| d.path.as_ref().unwrap().to_string()).collect();
    assert_eq!(
        paths,
        vec![
            "key_vault_soft_delete_retention_days",
            "key_vault_purge_protection",
            "postgresql_administrator_login",
            "postgresql_version",
            "postgresql_storage_gb"
        ]
    );
    // Growth and upgrades are fine.
    let up: BundleConfig =
        from_value(&config(&[("postgresql_version", Value::string("18")), ("postgresql_storage_gb", num(128))])).unwrap();
    assert!(in_place_refusals(&prior, &up).is_empty());
}

const TENANT: &str = "00000000-0000-4000-8000-000000000001";

/// Bodies as ARM would return them for the sample spec: what the spec
/// writes, with ids, provisioning states and what ARM computes.
fn full_bodies(s: &BundleSpec) -> Bodies<Slot> {
    let mut b = Bodies::default();
    let ip = "10.1.2.4";
    for slot in PaasBundle::slots(s) {
        let mut body = match &slot {
            Slot::Endpoint(t) => {
                let mut pe = s.endpoint_body(*t);
                let configs: Vec<_> = s
                    .ids
                    .record_names(*t, &s.location)
                    .iter()
                    .map(|r| json!({"fqdn": format!("{r}{}", t.suffix()), "ipAddresses": [ip]}))
                    .collect();
                pe["properties"]["customDnsConfigs"] = json!(configs);
                pe
            }
            Slot::Record(_, _) => BundleSpec::record_body(ip),
            other => want(s, other, TENANT, &b).unwrap(),
        };
        body["id"] = json!(slot.id(s).to_string());
        body["properties"]["provisioningState"] = json!("Succeeded");
        b.insert(slot, body);
    }
    b.get_mut(&Slot::KeyVault).unwrap()["properties"]["vaultUri"] = json!("https://trench-core-kv-dev.vault.azure.net/");
    b
}

#[test]
fn flatten_reads_back_every_setting_expand_writes() {
    let s = sample();
    // What no body says comes from the base: names, soft-delete choices, the password version.
    let mut base = s.clone();
    base.location = "northeurope".into();
    base.firewall_public_ip = None;
    base.admin_cidrs = Vec::new();
    base.acr = AcrSpec { sku: "Premium".into(), admin_enabled: false, public_network_access: false };
    base.kv.sku = "premium".into();
    base.kv.retention_days = 90;
    base.kv.purge_protection = true;
    base.kv.public_network_access = true;
    base.pg = PgSpec {
        version: "11".into(),
        sku_name: "Standard_E2ds_v5".into(),
        storage_gb: 64,
        auto_grow: false,
        login: "x".into(),
        ..s.pg.clone()
    };
    base.sb.sku = "Premium".into();
    base.sb.default_action = "Allow".into();
    base.law_retention_days = 90;
    base.endpoint_subnet = s.dns_vnets[0].child("subnets", "elsewhere");
    assert_eq!(flatten(&base, &full_bodies(&s)), s);
    // Children that are gone leave their lists.
    let mut b = full_bodies(&s);
    b.remove(&Slot::Database("orders".into()));
    b.remove(&Slot::Queue("orders".into()));
    let seen = flatten(&s, &b);
    assert_eq!((seen.pg.databases, seen.sb.queues), (vec!["catalog".to_owned()], vec![]));
}

/// The state a successful apply of the sample writes.
fn state_of(s: &BundleSpec) -> Value {
    let v = config(&[
        ("environment", Value::string("dev")),
        ("location", Value::string("westeurope")),
        ("resource_group_name", Value::string("rg-trench-core-dev")),
        ("data_resource_group_name", Value::string("rg-trench-data-dev")),
        ("private_endpoint_subnet_id", Value::string(SUBNET)),
        ("dns_zone_vnet_ids", strs(&[HUB, SPOKE])),
        ("firewall_public_ip", Value::string("20.1.2.3")),
        ("admin_cidrs", strs(&["203.0.113.0/24"])),
        ("acr_name", Value::string("trenchacrcoredev")),
        ("acr_sku", Value::string("Basic")),
        ("acr_admin_enabled", Value::Bool(true)),
        ("acr_public_network_access", Value::Bool(true)),
        ("key_vault_name", Value::string("trench-core-kv-dev")),
        ("key_vault_sku", Value::string("standard")),
        ("key_vault_soft_delete_retention_days", num(7)),
        ("key_vault_purge_protection", Value::Bool(false)),
        ("key_vault_on_soft_deleted", Value::string("recover")),
        ("key_vault_purge_on_destroy", Value::Bool(true)),
        ("key_vault_public_network_access", Value::Bool(false)),
        ("postgresql_name", Value::string("trench-data-pg-dev")),
        ("postgresql_version", Value::string("17")),
        ("postgresql_sku_name", Value::string("Standard_B1ms")),
        ("postgresql_storage_gb", num(32)),
        ("postgresql_auto_grow", Value::Bool(true)),
        ("postgresql_databases", strs(&["catalog", "orders"])),
        ("postgresql_administrator_login", Value::string("trenchadmin")),
        ("service_bus_name", Value::string("trench-core-sb-dev")),
        ("service_bus_sku", Value::string("Standard")),
        ("service_bus_queues", strs(&["orders"])),
        ("service_bus_default_action", Value::string("Deny")),
        ("log_analytics_name", Value::string("trench-core-law-dev")),
        ("log_analytics_retention_days", num(30)),
        ("state_storage_enabled", Value::Bool(true)),
        ("state_storage_account_name", Value::string("trenchtfstatecoredev")),
        ("state_container_name", Value::string("tfstate")),
        ("cosmos_db_enabled", Value::Bool(true)),
        ("cosmos_db_name", Value::string("trench-core-cosmos-dev")),
    ]);
    let parsed = PaasBundle::spec_from(&env(), &v).unwrap();
    assert_eq!(&parsed, s, "the sample state describes the sample spec");
    crate::resources::driver::observed::<PaasBundle>(&v, s, &full_bodies(s)).unwrap()
}

fn drift_lines(v: &Value) -> Vec<String> {
    match v.get_attr("drift") {
        Some(Value::List(l)) => l.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        other => panic!("drift is a list: {other:?}"),
    }
}

#[test]
fn reading_back_an_unchanged_bundle_reproduces_the_state() {
    let s = sample();
    let state = state_of(&s);
    assert_eq!(drift_lines(&state), Vec::<String>::new());
    assert_eq!(crate::resources::driver::observed::<PaasBundle>(&state, &s, &full_bodies(&s)).unwrap(), state);
    assert_eq!(state.get_attr("vault_uri"), Some(&Value::string("https://trench-core-kv-dev.vault.azure.net/")));
    let Some(Value::Map(ips)) = state.get_attr("private_endpoint_ips") else { panic!("ips") };
    assert_eq!(ips.keys().collect::<Vec<_>>(), vec!["cosmos_db", "key_vault", "postgresql"]);
}

#[test]
fn what_inputs_express_goes_back_into_them_and_the_rest_is_drift() {
    let s = sample();
    let state = state_of(&s);
    let mut b = full_bodies(&s);
    // Inputs: admin user off, vault opened, a queue and a database gone, rules edited.
    b.get_mut(&Slot::Acr).unwrap()["properties"]["adminUserEnabled"] = json!(false);
    b.get_mut(&Slot::KeyVault).unwrap()["properties"]["publicNetworkAccess"] = json!("Enabled");
    b.remove(&Slot::Queue("orders".into()));
    b.remove(&Slot::Database("orders".into()));
    b.get_mut(&Slot::NetworkRules).unwrap()["properties"]["ipRules"] = json!([{"ipMask": "20.9.9.9", "action": "Allow"}]);
    // Drift lines: PostgreSQL opened, a record gone, a link repointed, a tag changed.
    b.get_mut(&Slot::Postgresql).unwrap()["properties"]["network"]["publicNetworkAccess"] = json!("Enabled");
    b.remove(&Slot::Record(Target::KeyVault, "trench-core-kv-dev".into()));
    let link = Slot::Link(Target::Postgresql, "link-trench-core-vnet-dev".into());
    b.get_mut(&link).unwrap()["properties"]["virtualNetwork"]["id"] = json!(SPOKE);
    b.get_mut(&Slot::ServiceBus).unwrap()["tags"]["owner"] = json!("someone");
    let seen = crate::resources::driver::observed::<PaasBundle>(&state, &s, &b).unwrap();
    assert_eq!(seen.get_attr("acr_admin_enabled"), Some(&Value::Bool(false)));
    assert_eq!(seen.get_attr("key_vault_public_network_access"), Some(&Value::Bool(true)));
    assert_eq!(seen.get_attr("service_bus_queues"), Some(&strs(&[])));
    assert_eq!(seen.get_attr("postgresql_databases"), Some(&strs(&["catalog"])));
    assert_eq!(seen.get_attr("firewall_public_ip"), Some(&Value::string("20.9.9.9")));
    assert_eq!(seen.get_attr("admin_cidrs"), Some(&Value::Null));
    let lines = drift_lines(&seen);
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(lines.iter().any(|l| l.starts_with("PostgreSQL Flexible Server") && l.contains("settings differ")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("trench-core-kv-dev") && l.ends_with("is missing")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("link-trench-core-vnet-dev") && l.contains("settings differ")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("tags differ") && l.contains("owner")), "{lines:#?}");
}
