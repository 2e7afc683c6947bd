//! `lockdiag serve`: the exporter is `act::serve`; here its auth modules are read from
//! `--config-my-cnf` (mysqld_exporter's convention: `[client]` and `[client.NAME]`
//! groups, so operators reuse their file) and its log goes to stderr.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::act::serve::{serve, ServeJob};
use crate::parse::option_file::{parse_option_file, OptionLine};
use crate::source::connect::ConnectionConfig;
use crate::source::option_files::read_option_files;

use super::config::apply_group_options;

use super::{output, EXIT_OK};

pub async fn run(job: &ServeJob) -> Result<i32> {
    serve(job.clone(), &|line| output::note(&format!("serve: {line}"))).await?;
    Ok(EXIT_OK)
}

/// The `[client]` and `[client.NAME]` groups of an option file as connection settings,
/// by module name (`client` for `[client]`, `NAME` for `[client.NAME]`). Host, port and
/// socket come from each probe's target, timeouts from the command line.
pub fn auth_modules(
    path: &Path,
    base: &ConnectionConfig,
) -> Result<HashMap<String, ConnectionConfig>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--config-my-cnf {}", path.display()))?;
    let parsed = parse_option_file(&text);
    if let Some(error) = parsed.error {
        bail!("--config-my-cnf {}: {error}", path.display());
    }
    let mut modules = HashMap::new();
    for (_, line) in &parsed.lines {
        let OptionLine::Group(group) = line else {
            continue;
        };
        let group = group.trim().to_ascii_lowercase();
        let name = match group.strip_prefix("client.") {
            Some(name) if !name.is_empty() => name.to_string(),
            _ if group == "client" => "client".to_string(),
            _ => continue,
        };
        let read = read_option_files(&[(path.to_path_buf(), true)], std::slice::from_ref(&group))
            .with_context(|| format!("--config-my-cnf {}", path.display()))?;
        let mut config = ConnectionConfig {
            connect_timeout: base.connect_timeout,
            query_timeout: base.query_timeout,
            max_row_waits: base.max_row_waits,
            ..ConnectionConfig::default()
        };
        apply_group_options(&mut config, &read, &group)?;
        modules.insert(name, config);
    }
    if modules.is_empty() {
        bail!(
            "--config-my-cnf {}: no [client] or [client.NAME] group (the auth_module credentials)",
            path.display()
        );
    }
    Ok(modules)
}
