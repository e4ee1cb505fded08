//! `terraform-provider-trench`: hands over to the plugin crate's standard main.

fn main() -> std::process::ExitCode {
    trench_plugin::serve::main(trench_provider::provider)
}
