//! Conformance cases as data: each `cases/*.http` file is a request sequence with expectations;
//! the responses are snapshotted (ids numbered, times redacted).
//!
//! Format, line by line:
//! - `# …` comment; `@ config key=value …` (first lines only: time_scale, throttle, registered,
//!   replication, faults, seed); `@ advance SECONDS` moves the manual clock.
//! - `> METHOD PATH [=> STATUS]` starts a request; `{sub}` expands to `/subscriptions/<default>`,
//!   `{last.location}` / `{last.azure-asyncoperation}` to the previous response's header URL,
//!   `{tenant}` to the tenant, `{oid}` to the harness principal's object id, `{save.NAME}` to a
//!   value saved with `$`.
//! - `h Name: value` adds a header (`h authorization: -` sends none).
//! - `= json.path VALUE` asserts a JSON value in the response body (`header:name` for headers).
//! - `$ NAME json.path` saves a string from the response body (`header:name`: the path of a
//!   header URL) for later `{save.NAME}`.
//! - any other lines are the request body (JSON).

mod common;

use std::collections::BTreeMap;

use common::{H, TENANT};
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
struct Step {
    request: String,
    status: u16,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Value::is_null")]
    body: Value,
}

const SHOWN_HEADERS: &[&str] = &[
    "location",
    "azure-asyncoperation",
    "retry-after",
    "retry-after-ms",
    "www-authenticate",
    "x-ms-error-code",
    "x-ms-ratelimit-remaining-subscription-reads",
    "x-ms-ratelimit-remaining-subscription-writes",
    "x-ms-ratelimit-remaining-subscription-deletes",
];

#[derive(Default)]
struct Req {
    line: String,
    method: String,
    path: String,
    expect: Option<u16>,
    headers: Vec<(String, String)>,
    body: String,
    asserts: Vec<(String, String, usize)>,
    saves: Vec<(String, String)>,
    lineno: usize,
}

fn subst(s: &str, last: &Option<common::Resp>, saved: &BTreeMap<String, String>) -> String {
    let mut out = s
        .replace("{sub}", &format!("/subscriptions/{}", common::SUB))
        .replace("{tenant}", TENANT)
        .replace("{oid}", &armsim::Sim::principal_object_id(armsim::DEMO_CLIENT_ID));
    if let Some(l) = last {
        for h in ["location", "azure-asyncoperation"] {
            if let Some(v) = l.header(h) {
                out = out.replace(&format!("{{last.{h}}}"), &common::path_of(v));
            }
        }
    }
    for (k, v) in saved {
        out = out.replace(&format!("{{save.{k}}}"), v);
    }
    out
}

/// Numbers GUIDs by first appearance so snapshots keep "same id" relations without fixed values.
fn number_guids(s: &str) -> String {
    let re = regex::Regex::new(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}").unwrap();
    let mut seen: Vec<String> = Vec::new();
    re.replace_all(s, |c: &regex::Captures| {
        let g = c[0].to_ascii_lowercase();
        // The well-known ids (tenant, subscription, demo principal, role definitions) stay readable.
        if g.starts_with("00000000-0000-4000-8000-") || armsim_role(&g) {
            return g;
        }
        let n = match seen.iter().position(|x| *x == g) {
            Some(i) => i + 1,
            None => {
                seen.push(g);
                seen.len()
            }
        };
        format!("<guid-{n}>")
    })
    .into_owned()
}

fn armsim_role(g: &str) -> bool {
    [
        "7f951dda-4ed3-4680-a7ca-43fe172d538d",
        "4633458b-17de-408a-b874-0445c86b69e6",
        "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
    ]
    .contains(&g)
}

fn lookup<'a>(v: &'a Value, path: &str) -> &'a Value {
    let mut cur = v;
    if path == "." {
        return cur;
    }
    for seg in path.split('.') {
        cur = match seg.parse::<usize>() {
            Ok(i) => cur.get(i).unwrap_or(&Value::Null),
            Err(_) => cur.get(seg).unwrap_or(&Value::Null),
        };
    }
    cur
}

async fn run_case(path: &std::path::Path) -> Vec<Step> {
    let text = std::fs::read_to_string(path).expect("case file");
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let mut config: Vec<(String, String)> = Vec::new();
    let mut items: Vec<Result<Req, f64>> = Vec::new();
    let mut cur: Option<Req> = None;
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        if let Some(rest) = line.strip_prefix("@ config ") {
            for kv in rest.split_whitespace() {
                let (k, v) = kv.split_once('=').expect("config key=value");
                config.push((k.into(), v.into()));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("@ advance ") {
            if let Some(r) = cur.take() {
                items.push(Ok(r));
            }
            items.push(Err(rest.trim().parse().expect("advance seconds")));
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("> ") {
            if let Some(r) = cur.take() {
                items.push(Ok(r));
            }
            let (req, expect) = match rest.split_once(" => ") {
                Some((r, s)) => (r, Some(s.trim().parse::<u16>().expect("status"))),
                None => (rest, None),
            };
            let (method, p) = req.trim().split_once(' ').expect("METHOD PATH");
            cur = Some(Req {
                line: req.trim().to_string(),
                method: method.into(),
                path: p.trim().into(),
                expect,
                lineno,
                ..Default::default()
            });
            continue;
        }
        let Some(r) = cur.as_mut() else {
            assert!(line.trim().is_empty(), "{name}:{lineno}: text before the first request");
            continue;
        };
        if let Some(h) = line.strip_prefix("h ") {
            let (k, v) = h.split_once(':').expect("h Name: value");
            r.headers.push((k.trim().into(), v.trim().into()));
        } else if let Some(a) = line.strip_prefix("= ") {
            let (p, v) = a.split_once(' ').expect("= path value");
            r.asserts.push((p.into(), v.trim().into(), lineno));
        } else if let Some(a) = line.strip_prefix("$ ") {
            let (n, p) = a.split_once(' ').expect("$ name path");
            r.saves.push((n.into(), p.trim().into()));
        } else {
            r.body.push_str(line);
            r.body.push('\n');
        }
    }
    if let Some(r) = cur.take() {
        items.push(Ok(r));
    }

    let h = H::with(|c| {
        for (k, v) in &config {
            match k.as_str() {
                "time_scale" => c.time_scale = v.parse().unwrap(),
                "throttle" => c.throttle = v.parse().unwrap(),
                "registered" => c.registered_namespaces = armsim::RegisteredNamespaces::parse(v),
                "replication" => c.principal_replication_secs = v.parse().unwrap(),
                "faults" => c.faults = armsim::parse_fault_spec(v).unwrap(),
                "seed" => c.seed = v.parse().unwrap(),
                "token_lifetime" => c.token_lifetime_secs = v.parse().unwrap(),
                other => panic!("{name}: unknown config {other}"),
            }
        }
    })
    .await;
    let mut steps = Vec::new();
    let mut last: Option<common::Resp> = None;
    let mut saved: BTreeMap<String, String> = BTreeMap::new();
    for item in items {
        let r = match item {
            Err(secs) => {
                h.advance(secs);
                steps.push(Step { request: format!("(advance {secs} s)"), status: 0, headers: BTreeMap::new(), body: Value::Null });
                continue;
            }
            Ok(r) => r,
        };
        let path = subst(&r.path, &last, &saved);
        let body_text = subst(r.body.trim(), &last, &saved);
        // Bodies are sent as written, so malformed JSON can be tested too.
        let body = (!body_text.is_empty()).then_some(body_text.as_str());
        let header_values: Vec<(String, String)> = r.headers.iter().map(|(k, v)| (k.clone(), subst(v, &last, &saved))).collect();
        let headers: Vec<(&str, &str)> = header_values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let resp = h.call_text(&r.method, &path, body, &headers).await;
        if let Some(want) = r.expect {
            assert_eq!(resp.status, want, "{name}:{}: {} answered {} {}", r.lineno, r.line, resp.status, resp.body);
        }
        for (p, v, lineno) in &r.asserts {
            let v = subst(v, &last, &saved);
            let want: Value = serde_json::from_str(&v).unwrap_or(Value::String(v));
            let got = match p.strip_prefix("header:") {
                Some(hname) => resp.header(hname).map(|s| Value::String(s.into())).unwrap_or(Value::Null),
                None => lookup(&resp.body, p).clone(),
            };
            assert_eq!(got, want, "{name}:{lineno}: {p} after {}\nbody: {}", r.line, resp.body);
        }
        for (n, p) in &r.saves {
            let v = match p.strip_prefix("header:") {
                Some(hname) => common::path_of(resp.header(hname).unwrap_or_else(|| panic!("{name}: no {hname} header to save"))),
                None => {
                    let v = lookup(&resp.body, p);
                    v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
                }
            };
            saved.insert(n.clone(), v);
        }
        let headers =
            resp.headers.iter().filter(|(k, _)| SHOWN_HEADERS.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
        steps.push(Step { request: r.line.clone(), status: resp.status, headers, body: resp.body.clone() });
        last = Some(resp);
    }
    steps
}

#[test]
fn conformance_cases() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    insta::glob!("cases/*.http", |path| {
        let steps = rt.block_on(run_case(path));
        let json = number_guids(&serde_json::to_string(&steps).unwrap());
        let v: Value = serde_json::from_str(&json).unwrap();
        let mut settings = insta::Settings::clone_current();
        for key in [
            "startTime",
            "endTime",
            "createdOn",
            "updatedOn",
            "creationTime",
            "timeCreated",
            "createdAt",
            "updatedAt",
            "creationDate",
            "lastModifiedTime",
            "deletionDate",
            "scheduledPurgeDate",
            "earliestRestoreDate",
            "createdDate",
            "modifiedDate",
            "key1",
            "key2",
        ] {
            settings.add_redaction(&format!(".**.{key}"), "[time]");
        }
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_yaml_snapshot!(v));
    });
}
