//! Plan-time behaviour of trench_workload_identity that needs no ARM:
//! validation with attribute paths, defaults, ids known at plan, what a
//! state says is owned, and how observed objects map back into state.

use serde_json::json;

use super::apply::owned;
use super::spec::*;
use super::spec::{assignment, flatten};
use super::*;
use crate::resources::common::{self, Env};
use crate::resources::composite::{Bodies, Model, Specs, fill_for_create};
use crate::resources::driver::Composed;
use crate::resources::testing::{self, list};
use trench_plugin::framework::plan;
use trench_plugin::framework::{AttrPath, Resource};
use trench_plugin::value::{Value, from_value};

fn config(pairs: &[(&str, Value)]) -> Value {
    testing::config::<WorkloadIdentity>(pairs)
}

fn errors(pairs: &[(&'static str, Value)]) -> Vec<String> {
    testing::validation_paths::<WorkloadIdentity>(&config(&testing::overlay(base(), pairs)), true)
}

fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
}

fn sa(ns: &str, name: &str) -> Value {
    obj(&[("namespace", Value::string(ns)), ("name", Value::string(name))])
}

fn ra(scope: &str, role: &str) -> Value {
    obj(&[("scope", Value::string(scope)), ("role", Value::string(role))])
}

const RG: &str = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev";

fn base() -> Vec<(&'static str, Value)> {
    vec![
        ("environment", Value::string("dev")),
        ("name", Value::string("catalog-api")),
        ("location", Value::string("westeurope")),
        ("oidc_issuer_url", Value::string("https://westeurope.oic.prod-aks.azure.com/tenant/issuer/")),
        ("service_accounts", Value::Set(vec![sa("catalog", "api"), sa("catalog", "worker")])),
        ("role_assignments", Value::Set(vec![ra(RG, "Key Vault Secrets User"), ra(RG, "AcrPull")])),
    ]
}

#[test]
fn a_valid_identity_has_no_diagnostics() {
    assert_eq!(errors(&[]), Vec::<String>::new());
    // A role by GUID, a subscription scope, extra audiences, tags.
    assert_eq!(
        errors(&[
            ("role_assignments", Value::Set(vec![ra("/subscriptions/x", "acdd72a7-3385-48ef-bd42-f606fba81ae7")])),
            ("audiences", list(&["api://AzureADTokenExchange", "api://other"])),
            ("tags", Value::Map(BTreeMap::from([("team".to_owned(), Value::string("catalog"))]))),
        ]),
        Vec::<String>::new()
    );
}

#[test]
fn bad_inputs_name_their_attribute() {
    let long = "a".repeat(60);
    type Case = (Vec<(&'static str, Value)>, Vec<&'static str>);
    let cases: Vec<Case> = vec![
        (vec![("environment", Value::string("Dev"))], vec!["environment"]),
        (vec![("name", Value::string("Catalog_API"))], vec!["name"]),
        (vec![("name", Value::string("catalog--api"))], vec!["name"]),
        (vec![("name", Value::string("a-very-long-workload-name-x"))], vec!["name"]),
        (vec![("location", Value::string("West Europe"))], vec!["location"]),
        (vec![("resource_group_name", Value::string("rg."))], vec!["resource_group_name"]),
        (vec![("oidc_issuer_url", Value::string("http://issuer.example/"))], vec!["oidc_issuer_url"]),
        (vec![("oidc_issuer_url", Value::string("not a url"))], vec!["oidc_issuer_url"]),
        (vec![("oidc_issuer_url", Value::string("https://issuer.example/?x=1"))], vec!["oidc_issuer_url"]),
        (vec![("service_accounts", Value::Set(vec![]))], vec!["service_accounts"]),
        // Set elements have no stable index: the set is blamed, the detail names the element.
        (
            vec![("service_accounts", Value::Set(vec![sa("Catalog", "api"), sa("catalog", "api_")]))],
            vec!["service_accounts", "service_accounts"],
        ),
        // Both become the credential "a-b-c".
        (vec![("service_accounts", Value::Set(vec![sa("a-b", "c"), sa("a", "b-c")]))], vec!["service_accounts"]),
        (vec![("service_accounts", Value::Set(vec![sa(&long, &long)]))], vec!["service_accounts"]),
        (vec![("service_accounts", Value::Set((0..21).map(|i| sa("ns", &format!("sa{i}"))).collect()))], vec!["service_accounts"]),
        (vec![("audiences", list(&[]))], vec!["audiences"]),
        (vec![("audiences", list(&["api://x", " ", "api://x"]))], vec!["audiences[1]", "audiences[2]"]),
        (vec![("role_assignments", Value::Set(vec![ra("rg-trench-core-dev", "Reader")]))], vec!["role_assignments"]),
        (vec![("role_assignments", Value::Set(vec![ra(RG, "Key Vault Reader Person")]))], vec!["role_assignments"]),
        // The same role by name and by GUID, on the same scope spelled differently.
        (
            vec![(
                "role_assignments",
                Value::Set(vec![
                    ra(RG, "Reader"),
                    ra(&RG.to_ascii_uppercase().replace("SUBSCRIPTIONS", "subscriptions"), "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
                ]),
            )],
            vec!["role_assignments"],
        ),
        (vec![("tags", Value::Map(BTreeMap::from([("a/b".to_owned(), Value::string("x"))])))], vec!["tags[\"a/b\"]"]),
    ];
    assert!(cases.len() >= 8);
    for (pairs, want) in cases {
        assert_eq!(errors(&pairs), want, "{pairs:?}");
    }
}

#[test]
fn unknown_values_are_left_for_later_but_known_siblings_are_checked() {
    assert!(
        errors(&[("oidc_issuer_url", Value::unknown()), ("service_accounts", Value::unknown()), ("name", Value::unknown())]).is_empty()
    );
    // One scope unknown (a bundle not created yet): the other element is still checked.
    let ras = Value::Set(vec![obj(&[("scope", Value::unknown()), ("role", Value::string("Reader"))]), ra(RG, "Nobody")]);
    assert_eq!(errors(&[("role_assignments", ras)]), vec!["role_assignments"]);
}

#[test]
fn the_timeouts_block_is_validated() {
    let mut all = base();
    all.push((
        "timeouts",
        obj(&[("create", Value::string("soon")), ("read", Value::Null), ("update", Value::Null), ("delete", Value::Null)]),
    ));
    let d = Composed::<WorkloadIdentity>::new().validate(&config(&all));
    assert_eq!(d.iter().map(|d| d.path.as_ref().unwrap().to_string()).collect::<Vec<_>>(), vec!["timeouts.create"]);
}

#[test]
fn schema_is_valid_and_has_no_secrets() {
    let s = WorkloadIdentity::schema();
    s.block.internal_validate("trench_workload_identity").unwrap();
    // Identities, ids and issuer URLs are not secrets: nothing is write-only or sensitive.
    assert!(s.block.attributes.iter().all(|a| !a.write_only && !a.sensitive));
    assert!(s.write_only_attributes().is_empty());
}

fn planned_cfg(v: &Value) -> IdentityConfig {
    from_value(v).unwrap()
}

#[test]
fn ids_are_known_at_plan_and_assignment_ids_once_the_principal_is() {
    let mut planned = config(&base());
    let cfg = planned_cfg(&planned);
    fill_for_create::<WorkloadIdentity>(&mut planned, &config(&base()), &cfg);
    assert_eq!(planned.get_attr("resource_group_name"), Some(&Value::string("rg-trench-core-dev")));
    assert_eq!(planned.get_attr("audiences"), Some(&list(&["api://AzureADTokenExchange"])));
    let pc = planned_cfg(&planned);
    let create = planned_computed(SUB, &pc, &IdentityComputed::default());
    assert_eq!(
        create.id.known().unwrap(),
        "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.ManagedIdentity/userAssignedIdentities/trench-catalog-api-id-dev"
    );
    assert!(create.federated_credential_ids.known().unwrap()["catalog/worker"].ends_with("/federatedIdentityCredentials/catalog-worker"));
    assert!(create.principal_id.is_unknown() && create.role_assignment_ids.is_unknown(), "no principal before the identity exists");
    let prior = IdentityComputed { principal_id: Val::Known("11111111-2222-4333-8444-555555555555".into()), ..IdentityComputed::default() };
    let update = planned_computed(SUB, &pc, &prior);
    let ids = update.role_assignment_ids.known().unwrap();
    assert_eq!(ids.keys().collect::<Vec<_>>(), vec![&format!("AcrPull|{RG}"), &format!("Key Vault Secrets User|{RG}")]);
    // No role assignments at all: an empty map, not an unknown one.
    let mut none = base();
    none.retain(|(k, _)| *k != "role_assignments");
    let c = planned_cfg(&config(&none));
    assert_eq!(planned_computed(SUB, &c, &IdentityComputed::default()).role_assignment_ids, Val::Known(BTreeMap::new()));
}

#[test]
fn replacing_attributes_say_why() {
    let prior = config(&base());
    let mut planned = base();
    planned.retain(|(k, _)| *k != "name");
    planned.push(("name", Value::string("orders-api")));
    let (paths, d) = plan::requires_replace(&prior, &config(&planned), &<WorkloadIdentity as Model>::replace_rules(), "workload identity");
    assert_eq!(paths, vec![AttrPath::root("name")]);
    assert!(d.0[0].detail.contains("new client id"));
}

fn state_with(principal: &str) -> Value {
    let s = sample();
    let mut v = config(&[
        ("environment", Value::string("dev")),
        ("name", Value::string("catalog-api")),
        ("location", Value::string("westeurope")),
        ("resource_group_name", Value::string("rg-trench-core-dev")),
        ("oidc_issuer_url", Value::string(&s.issuer)),
        ("service_accounts", trench_plugin::value::to_value(&s.service_accounts).unwrap()),
        ("audiences", list(&[spec::DEFAULT_AUDIENCE])),
        ("role_assignments", trench_plugin::value::to_value(&s.role_assignments).unwrap()),
    ]);
    let b = full_bodies(&s, principal);
    common::patch(&mut v, &WorkloadIdentity::computed(&s, &b)).unwrap();
    crate::resources::driver::observed::<WorkloadIdentity>(&v, &s, &b).unwrap()
}

fn full_bodies(s: &IdentitySpec, principal: &str) -> Bodies<Slot> {
    let mut b = Bodies::default();
    b.insert(
        Slot::Identity,
        json!({"location": "westeurope", "tags": s.tags, "properties": {"principalId": principal, "clientId": "c", "tenantId": "t"}}),
    );
    for sa in &s.service_accounts {
        b.insert(Slot::Credential(sa.clone()), s.credential_body(sa));
    }
    for ra in &s.role_assignments {
        let a = assignment(ra, principal).unwrap();
        let mut body = a.body.clone();
        body["id"] = json!(a.id.to_string());
        b.insert(Slot::Assignment(ra.clone()), body);
    }
    b
}

#[test]
fn flatten_reads_back_every_input_expand_writes() {
    let s = IdentitySpec { principal: Some(P.into()), ..sample() };
    let b = full_bodies(&s, P);
    // Only names and tags come from the base; lists keep what exists.
    let base = IdentitySpec { location: "northeurope".into(), issuer: "https://old.example/".into(), principal: None, ..s.clone() };
    assert_eq!(flatten(&base, &b), s);
    let mut fewer = b.clone();
    fewer.remove(&Slot::Credential(s.service_accounts[0].clone()));
    fewer.remove(&Slot::Assignment(s.role_assignments[1].clone()));
    let seen = flatten(&s, &fewer);
    assert_eq!((seen.service_accounts, seen.role_assignments), (s.service_accounts[1..].to_vec(), s.role_assignments[..1].to_vec()));
}

const P: &str = "11111111-2222-4333-8444-555555555555";

#[test]
fn a_state_owns_what_it_lists_and_what_its_inputs_imply() {
    let s = sample();
    let env = Env { subscription: SUB.into(), ..Env::default() };
    let o = owned(&env, &state_with(P));
    assert_eq!(o.identity, Some(s.identity_id()));
    assert_eq!(o.credentials.len(), 2);
    assert_eq!(o.assignments, s.assignments(P).into_iter().map(|a| a.id).collect());
    // A partial state with no computed ids still finds its objects from its inputs.
    let mut partial = state_with(P);
    if let Value::Object(m) = &mut partial {
        m.insert("federated_credential_ids".into(), Value::Null);
        m.insert("role_assignment_ids".into(), Value::Null);
        m.insert("id".into(), Value::Null);
    }
    let o2 = owned(&env, &partial);
    assert_eq!((o2.identity, o2.credentials.len(), o2.assignments.len()), (Some(s.identity_id()), 2, 2));
}

#[test]
fn reading_back_maps_what_inputs_express_and_reports_the_rest_as_drift() {
    let s = sample();
    let state = state_with(P);
    // Unchanged: the state comes back as it was.
    assert_eq!(observe_state(&state, &s, &full_bodies(&s, P)), state);

    // A credential and an assignment deleted out of band leave their lists.
    let mut b = full_bodies(&s, P);
    b.remove(&Slot::Credential(s.service_accounts[0].clone()));
    b.remove(&Slot::Assignment(s.role_assignments[0].clone()));
    let seen = observe_state(&state, &s, &b);
    assert_eq!(seen.get_attr("service_accounts"), Some(&Value::Set(vec![sa("catalog", "worker")])));
    assert_eq!(seen.get_attr("role_assignments"), Some(&Value::Set(vec![ra(&s.role_assignments[1].scope, &s.role_assignments[1].role)])));
    assert_eq!(seen.get_attr("federated_credential_ids").map(|m| matches!(m, Value::Map(x) if x.len() == 1)), Some(true));

    // Every credential moved to another issuer: that is the input's value now.
    let mut b = full_bodies(&s, P);
    for sa in &s.service_accounts {
        b.get_mut(&Slot::Credential(sa.clone())).unwrap()["properties"]["issuer"] = json!("https://other.example/");
    }
    assert_eq!(observe_state(&state, &s, &b).get_attr("oidc_issuer_url"), Some(&Value::string("https://other.example/")));

    // One credential edited, tags changed: drift lines, inputs untouched.
    let mut b = full_bodies(&s, P);
    let cred = |n: &str| Slot::Credential(ServiceAccount { namespace: "catalog".into(), name: n.into() });
    b.get_mut(&cred("worker")).unwrap()["properties"]["subject"] = json!("system:serviceaccount:catalog:other");
    b.get_mut(&cred("api")).unwrap()["properties"]["audiences"] = json!(["api://else"]);
    b.get_mut(&Slot::Identity).unwrap()["tags"]["owner"] = json!("someone");
    let seen = observe_state(&state, &s, &b);
    let Some(Value::List(lines)) = seen.get_attr("drift") else { panic!("drift is a list") };
    let lines: Vec<&str> = lines.iter().filter_map(Value::as_str).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].contains("tags differ") || lines[0].contains("owner"), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("catalog-worker") && l.contains("subject")), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("catalog-api") && l.contains("audiences")), "{lines:?}");
    assert_eq!(seen.get_attr("service_accounts"), state.get_attr("service_accounts"));
}

fn observe_state(state: &Value, s: &IdentitySpec, b: &Bodies<Slot>) -> Value {
    crate::resources::driver::observed::<WorkloadIdentity>(state, s, b).unwrap()
}

const SUB: &str = "00000000-0000-4000-8000-000000000002";

fn sample() -> IdentitySpec {
    IdentitySpec {
        subscription: SUB.into(),
        resource_group: "rg-trench-core-dev".into(),
        env: "dev".into(),
        workload: "catalog-api".into(),
        location: "westeurope".into(),
        issuer: "https://westeurope.oic.prod-aks.azure.com/tenant/issuer/".into(),
        service_accounts: vec![
            ServiceAccount { namespace: "catalog".into(), name: "api".into() },
            ServiceAccount { namespace: "catalog".into(), name: "worker".into() },
        ],
        audiences: vec![DEFAULT_AUDIENCE.into()],
        role_assignments: vec![
            RoleAssignment {
                scope: format!(
                    "/subscriptions/{SUB}/resourceGroups/rg-trench-core-dev/providers/Microsoft.KeyVault/vaults/trench-core-kv-dev"
                ),
                role: "Key Vault Secrets User".into(),
            },
            RoleAssignment {
                scope: format!(
                    "/subscriptions/{SUB}/resourceGroups/rg-trench-core-dev/providers/Microsoft.ServiceBus/namespaces/trench-core-sb-dev"
                ),
                role: "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39".into(),
            },
        ],
        tags: BTreeMap::from([("environment".into(), "dev".into())]),
        principal: None,
    }
}

#[test]
fn ids_and_bodies_of_every_owned_object() {
    let s = sample();
    let principal = "11111111-2222-4333-8444-555555555555";
    let a = s.assignments(principal);
    let bodies = json!({
        "identity": [s.identity_id().to_string(), s.identity_body()],
        "credentials": s.service_accounts.iter().map(|sa| json!([s.credential_id(sa).to_string(), s.credential_body(sa)])).collect::<Vec<_>>(),
        "assignments": a.iter().map(|x| json!([x.key, x.id.to_string(), x.body])).collect::<Vec<_>>(),
    });
    insta::assert_json_snapshot!(bodies);
}

#[test]
fn assignment_names_are_stable_and_principal_specific() {
    let s = sample();
    let one = s.assignments("11111111-2222-4333-8444-555555555555");
    assert_eq!(one, s.assignments("11111111-2222-4333-8444-555555555555"));
    let other = s.assignments("99999999-2222-4333-8444-555555555555");
    assert_ne!(one[0].id, other[0].id);
    // A GUID and the role's name are the same role.
    let by_name =
        assignment(&RoleAssignment { scope: s.role_assignments[1].scope.clone(), role: "Azure Service Bus Data Sender".into() }, "p")
            .unwrap();
    let by_guid = assignment(&s.role_assignments[1], "p").unwrap();
    assert_eq!(by_name.id, by_guid.id);
    assert_ne!(by_name.key, by_guid.key, "keys keep the spelling the operator used");
}

#[test]
fn subjects_round_trip() {
    let sa = ServiceAccount { namespace: "orders".into(), name: "worker".into() };
    assert_eq!(ServiceAccount::from_subject(&sa.subject()), Some(sa));
    assert_eq!(ServiceAccount::from_subject("repo:org/app:ref:refs/heads/main"), None);
    assert_eq!(ServiceAccount::from_subject("system:serviceaccount:ns"), None);
}
