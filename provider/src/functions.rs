//! Provider functions: `provider::trench::name(service, resource, env)` and
//! `provider::trench::compact_name(service, resource, env)`.

use crate::conventions;
use trench_plugin::framework::{Function, FunctionError, Param, Signature};
use trench_plugin::value::{Type, Value};

fn params() -> Vec<Param> {
    vec![
        Param { name: "service", ty: Type::String, description: "Service part, e.g. `core` or `catalog-api`." },
        Param { name: "resource", ty: Type::String, description: "Resource part, e.g. `vnet` or `kv`." },
        Param { name: "env", ty: Type::String, description: "Environment, e.g. `dev`." },
    ]
}

fn strings(args: &[Value]) -> Result<[&str; 3], FunctionError> {
    let mut out = [""; 3];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = args.get(i).and_then(Value::as_str).ok_or(FunctionError { text: "expected a string".into(), argument: Some(i) })?;
    }
    Ok(out)
}

fn to_fn_error(e: conventions::TokenError) -> FunctionError {
    FunctionError { text: e.message, argument: Some(e.argument) }
}

/// `name(service, resource, env)`.
pub struct Name;

impl Function for Name {
    fn name(&self) -> &'static str {
        "name"
    }
    fn signature(&self) -> Signature {
        Signature {
            params: params(),
            returns: Type::String,
            summary: "The conventional name trench-<service>-<resource>-<env>",
            description: "Builds `trench-<service>-<resource>-<env>`. Each part is checked: lowercase letters and digits (service and resource may contain single hyphens); the environment is 2-12 characters starting with a letter.",
        }
    }
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let [s, r, e] = strings(args)?;
        conventions::name(s, r, e).map(Value::String).map_err(to_fn_error)
    }
}

/// `compact_name(service, resource, env)`.
pub struct CompactName;

impl Function for CompactName {
    fn name(&self) -> &'static str {
        "compact_name"
    }
    fn signature(&self) -> Signature {
        Signature {
            params: params(),
            returns: Type::String,
            summary: "The hyphen-free name trench<resource><service><env> for ACR and storage",
            description: "Builds `trench<resource><service><env>` without hyphens, e.g. `compact_name(\"core\", \"acr\", \"dev\")` is `trenchacrcoredev`. Fails unless the result is 5-24 lowercase letters and digits, so it fits both container registries (5-50) and storage accounts (3-24).",
        }
    }
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let [s, r, e] = strings(args)?;
        conventions::compact_name(s, r, e).map(Value::String).map_err(to_fn_error)
    }
}
