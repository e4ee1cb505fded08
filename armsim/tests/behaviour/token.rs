use serde_json::{Value, json};

use crate::common::{H, TENANT};

fn form_secret(client: &str, secret: &str, scope: &str) -> String {
    format!("grant_type=client_credentials&client_id={client}&client_secret={secret}&scope={scope}")
}

const SCOPE: &str = "https%3A%2F%2Fmanagement.azure.com%2F.default";

/// An unsigned JWT shaped like a GitHub Actions OIDC token (the simulator cannot check its signature).
fn assertion(aud: &str, exp: i64, sub: &str, iss: &str) -> String {
    use base64::Engine;
    let e = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        e(&json!({"alg": "RS256", "typ": "JWT"})),
        e(&json!({"aud": aud, "exp": exp, "iat": exp - 300, "iss": iss, "sub": sub, "jti": format!("{sub}-{exp}")})),
        "c2ln"
    )
}

fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("jwt");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json")
}

#[tokio::test]
async fn client_secret_flow_issues_a_bearer_token_like_entra() {
    let h = H::new().await;
    let r = h.form(&format!("/{TENANT}/oauth2/v2.0/token"), &form_secret(armsim::DEMO_CLIENT_ID, armsim::DEMO_CLIENT_SECRET, SCOPE)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 3600);
    assert_eq!(r.body["ext_expires_in"], 3600);
    let c = claims(r.body["access_token"].as_str().unwrap());
    assert_eq!(c["tid"], TENANT);
    assert_eq!(c["appid"], armsim::DEMO_CLIENT_ID);
    assert_eq!(c["aud"], "https://management.azure.com/");
    assert_eq!(c["oid"], armsim::Sim::principal_object_id(armsim::DEMO_CLIENT_ID));
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 3600);
    // The token works on ARM.
    let ok = h
        .call_with(
            "GET",
            "{sub}/resourcegroups?api-version=2025-04-01",
            None,
            &[("authorization", &format!("Bearer {}", r.body["access_token"].as_str().unwrap()))],
        )
        .await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn token_errors_have_the_entra_shape() {
    let h = H::new().await;
    let url = format!("/{TENANT}/oauth2/v2.0/token");
    let wrong = h.form(&url, &form_secret(armsim::DEMO_CLIENT_ID, "nope", SCOPE)).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.body["error"], "invalid_client");
    assert_eq!(wrong.body["error_codes"], json!([7000215]));
    assert!(wrong.body["error_description"].as_str().unwrap().starts_with("AADSTS7000215: Invalid client secret provided."));
    for k in ["timestamp", "trace_id", "correlation_id"] {
        assert!(wrong.body[k].is_string(), "{k} missing: {}", wrong.body);
    }
    let unknown = h.form(&url, &form_secret("11111111-2222-4333-8444-555555555555", "x", SCOPE)).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.body["error"], "unauthorized_client");
    assert_eq!(unknown.body["error_codes"], json!([700016]));
    let tenant = h
        .form(
            "/99999999-0000-4000-8000-000000000000/oauth2/v2.0/token",
            &form_secret(armsim::DEMO_CLIENT_ID, armsim::DEMO_CLIENT_SECRET, SCOPE),
        )
        .await;
    assert_eq!(tenant.status, 400);
    assert_eq!(tenant.body["error_codes"], json!([90002]));
    let scope = h.form(&url, &form_secret(armsim::DEMO_CLIENT_ID, armsim::DEMO_CLIENT_SECRET, "https%3A%2F%2Fmanagement.azure.com")).await;
    assert_eq!(scope.body["error"], "invalid_scope");
    let graph = h
        .form(&url, &form_secret(armsim::DEMO_CLIENT_ID, armsim::DEMO_CLIENT_SECRET, "https%3A%2F%2Fgraph.microsoft.com%2F.default"))
        .await;
    assert_eq!(graph.body["error"], "invalid_resource");
    let grant = h.form(&url, "grant_type=password&client_id=x&scope=y").await;
    assert_eq!(grant.body["error"], "unsupported_grant_type");
    let no_cred = h.form(&url, &format!("grant_type=client_credentials&client_id={}&scope={SCOPE}", armsim::DEMO_CLIENT_ID)).await;
    assert_eq!(no_cred.status, 401);
    assert_eq!(no_cred.body["error_codes"], json!([7000218]));
    // The simulator's own endpoint is an accepted audience too.
    let own = h.form(&url, &form_secret(armsim::DEMO_CLIENT_ID, armsim::DEMO_CLIENT_SECRET, "https%3A%2F%2Farmsim.test%2F.default")).await;
    assert_eq!(own.status, 200, "{}", own.body);
    let stats = h.admin("GET", "stats", None).await;
    assert_eq!(stats.body["token_requests"], 9, "every token request is counted, harness included");
}

#[tokio::test]
async fn client_assertions_are_checked_and_counted_fresh_per_token() {
    let h = H::new().await;
    let url = format!("/{TENANT}/oauth2/v2.0/token");
    let now = 1_767_225_600; // the manual clock's start
    let form = |a: &str| {
        format!(
            "grant_type=client_credentials&client_id={}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={a}&scope={SCOPE}",
            armsim::DEMO_CLIENT_ID
        )
    };
    let a1 = assertion(
        "api://AzureADTokenExchange",
        now + 300,
        "repo:trench-lab/trench:environment:dev",
        "https://token.actions.githubusercontent.com",
    );
    let r = h.form(&url, &form(&a1)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    h.advance(60.0);
    let a2 = assertion(
        "api://AzureADTokenExchange",
        now + 360,
        "repo:trench-lab/trench:environment:dev",
        "https://token.actions.githubusercontent.com",
    );
    assert_eq!(h.form(&url, &form(&a2)).await.status, 200);
    assert_eq!(h.form(&url, &form(&a2)).await.status, 200);
    let stats = h.admin("GET", "stats", None).await;
    assert_eq!(stats.body["client_assertions"], 3);
    assert_eq!(stats.body["distinct_client_assertions"], 2, "a reused assertion is visible");

    let wrong_aud = h.form(&url, &form(&assertion("api://other", now + 600, "s", "i"))).await;
    assert_eq!(wrong_aud.status, 400);
    assert_eq!(wrong_aud.body["error_codes"], json!([700212]));
    let expired = h.form(&url, &form(&assertion("api://AzureADTokenExchange", now - 10, "s", "i"))).await;
    assert_eq!(expired.body["error_codes"], json!([700024]));
    let garbage = h.form(&url, &form("not.a.jwt")).await;
    assert_eq!(garbage.body["error_codes"], json!([50027]));
}

#[tokio::test]
async fn workload_identity_assertions_match_federated_credentials() {
    let h = H::with(|c| c.time_scale = 0.0).await;
    h.rg("rg").await;
    let uai = h
        .put(
            "{sub}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app?api-version=2024-11-30",
            json!({"location": "westeurope"}),
        )
        .await;
    let client_id = uai.at("properties.clientId").as_str().unwrap().to_string();
    let principal = uai.at("properties.principalId").as_str().unwrap().to_string();
    let fic = h
        .put(
            "{sub}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app/federatedIdentityCredentials/app?api-version=2024-11-30",
            json!({"properties": {"issuer": "https://westeurope.oic.prod-aks.azure.com/t/x/", "subject": "system:serviceaccount:apps:app", "audiences": ["api://AzureADTokenExchange"]}}),
        )
        .await;
    assert_eq!(fic.status, 201, "{}", fic.body);
    let url = format!("/{TENANT}/oauth2/v2.0/token");
    let form = |a: &str| {
        format!(
            "grant_type=client_credentials&client_id={client_id}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={a}&scope={SCOPE}"
        )
    };
    let now = 1_767_225_600;
    let good = h
        .form(
            &url,
            &form(&assertion(
                "api://AzureADTokenExchange",
                now + 600,
                "system:serviceaccount:apps:app",
                "https://westeurope.oic.prod-aks.azure.com/t/x/",
            )),
        )
        .await;
    assert_eq!(good.status, 200, "{}", good.body);
    assert_eq!(claims(good.body["access_token"].as_str().unwrap())["oid"], principal);
    let other = h
        .form(
            &url,
            &form(&assertion(
                "api://AzureADTokenExchange",
                now + 600,
                "system:serviceaccount:apps:intruder",
                "https://westeurope.oic.prod-aks.azure.com/t/x/",
            )),
        )
        .await;
    assert_eq!(other.status, 400);
    assert_eq!(other.body["error_codes"], json!([70021]));
}

#[tokio::test]
async fn discovery_documents_point_at_the_simulator() {
    let h = H::new().await;
    let req = http::Request::get(format!("/{TENANT}/v2.0/.well-known/openid-configuration"))
        .header("host", "armsim.test")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = h.raw(req).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["token_endpoint"], format!("https://armsim.test/{TENANT}/oauth2/v2.0/token"));
    let req = http::Request::get("/common/discovery/instance?api-version=1.1")
        .header("host", "armsim.test")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = h.raw(req).await;
    assert_eq!(r.body["tenant_discovery_endpoint"], format!("https://armsim.test/{TENANT}/v2.0/.well-known/openid-configuration"));
}

#[tokio::test]
async fn configured_principals_replace_the_demo_one() {
    let h = H::with(|c| c.principals = vec![armsim::Principal::parse("0f0f0f0f-0000-4000-8000-000000000001:s3cret").unwrap()]).await;
    let url = format!("/{TENANT}/oauth2/v2.0/token");
    assert_eq!(h.form(&url, &form_secret("0f0f0f0f-0000-4000-8000-000000000001", "s3cret", SCOPE)).await.status, 200);
    assert_eq!(h.form(&url, &form_secret(armsim::DEMO_CLIENT_ID, armsim::DEMO_CLIENT_SECRET, SCOPE)).await.status, 400);
}
